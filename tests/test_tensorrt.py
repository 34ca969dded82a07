"""TensorRT: profile shapes and buffer sizing (no GPU), the start-of-run gate, and GPU builds and
runs (marked gpu)."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from amrcomp import gpu, precision
from amrcomp.bench import tensorrt as trt_bench
from amrcomp.settings import check_config, load_config
from conftest import BENCH_SETTINGS, TINY, snakemake

FRAME = (2, 128, 1)


def gpu_ready() -> tuple[bool, str]:
    """Whether this machine can build engines, and what it lacks if not."""
    try:
        gpu.require_tensorrt()
    except gpu.GpuUnavailable as err:
        return False, str(err)
    return True, ""


def needs_gpu():
    ready, why = gpu_ready()
    if not ready:
        pytest.skip(f"needs an NVIDIA GPU and tensorrt: {why}")


# ---------------------------------------------------------------- pure helpers


def test_profile_shapes_from_batch_sizes():
    shapes = trt_bench.profile_shapes([1, 32, 256, 1024], FRAME, preferred=32)
    assert shapes == {"min": (1, *FRAME), "opt": (32, *FRAME), "max": (1024, *FRAME)}
    # min is always 1 (latency), opt falls back to the lower median when the preferred size is out
    # of range
    assert trt_bench.profile_shapes([8, 64, 512], FRAME, preferred=4096) == {
        "min": (1, *FRAME),
        "opt": (64, *FRAME),
        "max": (512, *FRAME),
    }
    assert trt_bench.profile_shapes([256, 1, 32, 1024], FRAME)["opt"][0] == 32
    assert trt_bench.opt_batch([16]) == 16


def test_profile_shapes_reject_bad_input():
    with pytest.raises(ValueError, match="positive integers"):
        trt_bench.opt_batch([])
    with pytest.raises(ValueError, match="static frame shape"):
        trt_bench.profile_shapes([1, 32], (2, -1, 1))


def test_buffer_sizing_from_shapes_and_dtypes():
    plan = trt_bench.buffer_plan(
        {"iq": ((-1, *FRAME), np.float32), "output": ((-1, 11), np.float16)}, max_batch=1024
    )
    assert plan["iq"] == {"shape": (1024, 2, 128, 1), "dtype": "float32", "nbytes": 1024 * 256 * 4}
    assert plan["output"] == {"shape": (1024, 11), "dtype": "float16", "nbytes": 1024 * 11 * 2}
    assert trt_bench.tensor_nbytes((3, 5), np.int8) == 15
    assert trt_bench.resolve_shape((7, 11), 32) == (7, 11)  # static batch left alone
    with pytest.raises(ValueError, match="dynamic axes beyond the batch"):
        trt_bench.resolve_shape((-1, -1), 4)
    with pytest.raises(ValueError, match="unresolved shape"):
        trt_bench.tensor_nbytes((-1, 4), np.float32)


def test_chunks_split_batches_above_profile_max():
    assert trt_bench.chunks(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert trt_bench.chunks(0, 4) == []
    with pytest.raises(ValueError):
        trt_bench.chunks(3, 0)


def test_build_plan_stores_the_engine_and_its_provenance(tmp_path, monkeypatch):
    """The trt_build rule's record: the builder's info, the plan's size, the ONNX and machine."""
    calls = []

    def fake_build(onnx_path, batch_sizes, opt, workspace_mb, device):
        calls.append((str(onnx_path), batch_sizes, opt, workspace_mb, device))
        return b"plan bytes", {"profile": {"opt": [8]}, "build_seconds": 0.5, "device": device}

    monkeypatch.setattr(trt_bench, "build_engine", fake_build)
    settings = {"batch_sizes": [1, 8, 32], "opt_batch": 8, "workspace_mb": 256, "device": 0}
    plan = tmp_path / "trt" / "m.plan"
    record = trt_bench.build_plan(tmp_path / "m.onnx", plan, settings)
    assert calls == [(str(tmp_path / "m.onnx"), [1, 8, 32], 8, 256, 0)]
    assert plan.read_bytes() == b"plan bytes" and record["plan_bytes"] == len(b"plan bytes")
    assert record["onnx"] == str(tmp_path / "m.onnx") and record["profile"] == {"opt": [8]}
    assert record["machine"]["cpu"] and "libraries" in record["machine"]


def test_device_timing_becomes_record(tmp_path):
    """A runner that times itself (TensorRT's CUDA events) is reported with its own clock."""
    from amrcomp.bench import run_benchmark
    from amrcomp.frames import Split

    class EventTimed:
        clock = trt_bench.TrtRunner.clock

        def predict(self, x):
            return np.eye(11, dtype=np.float32)[np.zeros(len(x), int)]

        def bind(self, x):
            return lambda: 1e-4 * len(x) ** 0.5  # seconds from cudaEventElapsedTime

        def precision(self, frames):
            return precision.result([("CaskConvolution", "int8")], "TensorRT engine layers")

        def info(self):
            return {"max_batch": 32}

    split = Split(
        x=np.zeros((12, *FRAME[:2]), np.float32),
        labels=np.zeros(12, np.int64),
        snr=np.zeros(12, np.int64),
    )
    deployed = tmp_path / "m.plan"
    deployed.write_bytes(b"plan")
    settings = {**BENCH_SETTINGS, "batch_sizes": [1, 4], "warmup": 1, "repeats": 2}
    settings["eval_batch_size"] = 1024
    record = run_benchmark(
        EventTimed,
        deployed,
        split,
        [f"c{i}" for i in range(11)],
        settings,
        {"model": "m", "variant": "v", "dtype": "int8", "backend": "tensorrt"},
        extra_info={"build": {"tensorrt": "10"}},
    )
    assert record["status"] == "ok" and record["accuracy"] == 1.0
    assert record["throughput_fps"] == {"1": pytest.approx(1e4), "4": pytest.approx(4 / 2e-4)}
    assert record["latency_ms"]["p50"] == pytest.approx(0.1)
    assert record["timing"]["clock"].startswith("CUDA events")
    assert record["backend_info"] == {"max_batch": 32, "build": {"tensorrt": "10"}}


def test_imports_are_lazy():
    """Importing the backend (as the benchmark rule does for every backend) must not load tensorrt
    or CUDA."""
    import subprocess
    import sys

    code = (
        "import sys, amrcomp.bench, amrcomp.bench.tensorrt; "
        "print(sorted(m for m in ('tensorrt', 'cuda') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- gate


TRT_JOBS = [("trt_build", {"model": "model1"}), ("benchmark", {"backend": "tensorrt"})]
CPU_JOBS = [("train", {"model": "model1"}), ("benchmark", {"backend": "onnxruntime"})]


def test_only_engine_jobs_need_tensorrt():
    assert [gpu.needs_tensorrt(rule, w) for rule, w in TRT_JOBS + CPU_JOBS] == [1, 1, 0, 0]


def test_local_gate_names_missing_gpu_and_host(monkeypatch):
    monkeypatch.setattr(gpu, "nvidia_gpus", lambda: [])
    with pytest.raises(
        gpu.GpuUnavailable,
        match=r"deploy.backends requests tensorrt, but this machine \(\S+\) lacks an NVIDIA GPU "
        r"with its driver \(nvidia-smi found no GPU\)",
    ):
        gpu.gate_local_run(True, CPU_JOBS + TRT_JOBS[:1])


def test_gate_passes_cluster_runs_and_runs_without_engines(monkeypatch):
    monkeypatch.setattr(gpu, "nvidia_gpus", lambda: [])
    gpu.gate_local_run(False, TRT_JOBS)  # each TensorRT job checks its own node
    gpu.gate_local_run(True, CPU_JOBS)  # e.g. results/table3.csv with tensorrt configured


def test_gate_on_this_machine():
    ready, why = gpu_ready()
    if ready:
        gpu.gate_local_run(True, TRT_JOBS)  # passes where a GPU and tensorrt exist
        return
    with pytest.raises(gpu.GpuUnavailable) as err:
        gpu.gate_local_run(True, TRT_JOBS)
    assert str(err.value) == why and "remove tensorrt from deploy.backends" in why
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        assert "the tensorrt Python package" in why


def test_config_check_does_not_gate(monkeypatch):
    """The submit host of a cluster run needs no GPU: checking the config must not ask for one."""
    monkeypatch.setattr(gpu, "nvidia_gpus", lambda: [])
    config = load_config(TINY)
    config["deploy"]["backends"] = ["onnxruntime", "tensorrt"]
    check_config(config)


def test_local_run_fails_before_its_first_job(tmp_path):
    ready, _ = gpu_ready()
    if ready:
        pytest.skip("this machine has a GPU and tensorrt: the gate rightly passes")
    override = tmp_path / "trt.yaml"
    override.write_text(yaml.safe_dump({"deploy": {"backends": ["onnxruntime", "tensorrt"]}}))
    work = tmp_path / "run"
    proc = snakemake(work, "results/table5.csv", configfiles=(TINY, override), check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "GpuUnavailable" in output and "deploy.backends requests tensorrt" in output, output
    assert not (work / "results").exists(), "a job ran before the gate"


def test_dry_run_plans_engines_and_benchmarks(tmp_path):
    """A dry run plans the engines (no gate: it runs nothing), each built from its ONNX."""
    override = tmp_path / "trt.yaml"
    override.write_text(yaml.safe_dump({"deploy": {"backends": ["tensorrt"]}}))
    proc = snakemake(
        tmp_path / "run",
        "-n",
        "results/bench/tensorrt/model1/magnitude-50-int8.json",
        configfiles=(TINY, override),
    )
    assert "trt_build" in proc.stdout and "convert_onnx" in proc.stdout


# ---------------------------------------------------------------- GPU


@pytest.fixture(scope="module")
def onnx_files(tmp_path_factory):
    """fp32, fp16 and TensorRT-scheme int8 ONNX of a narrow Model 2 with random weights."""
    needs_gpu()
    from amrcomp import tfsetup

    tfsetup.configure(2, 0)
    import onnx

    from amrcomp import export
    from amrcomp.models import build_model

    model = build_model("tekbiyik", filters=(16, 8, 8, 8), dense_units=16)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 2, 128)).astype(np.float32)
    x /= np.abs(x).sum(axis=(1, 2), keepdims=True)
    out = tmp_path_factory.mktemp("trt")
    paths = {d: out / f"m-{d}.onnx" for d in ("fp32", "fp16", "int8")}
    export.keras_to_onnx(model, paths["fp32"], 17)
    export.save_onnx(export.to_float16(onnx.load(str(paths["fp32"]))), paths["fp16"])
    export.quantize_int8(paths["fp32"], paths["int8"], x[..., None], "minmax", "tensorrt")
    return paths, x[..., None]


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["fp32", "fp16", "int8"])
def test_engine_builds_and_matches_onnxruntime(onnx_files, dtype, tmp_path):
    needs_gpu()
    from amrcomp.runtimes import onnx_predictor

    paths, frames = onnx_files
    plan, info = trt_bench.build_engine(paths[dtype], [1, 8, 32], 8, 256, 0)
    assert info["profile"] == {"min": [1, *FRAME], "opt": [8, *FRAME], "max": [32, *FRAME]}
    plan_path = tmp_path / f"m-{dtype}.plan"
    plan_path.write_bytes(plan)
    runner = trt_bench.TrtRunner(plan_path, 0)
    try:
        got = runner.predict(frames)  # 64 frames: two chunks of the profile max 32
        want = onnx_predictor(paths[dtype], 1)(frames)
        assert got.shape == want.shape == (64, 11)
        tolerance = {"fp32": 1e-3, "fp16": 1e-2, "int8": 5e-2}[dtype]
        assert np.abs(got - want).max() < tolerance
        seconds = runner.bind(frames[:8])()
        assert 0 < seconds < 1
    finally:
        runner.close()
