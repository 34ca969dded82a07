"""Which devices a job computed on (amrcomp.machine.devices), on fake nvidia-smi lines and
environments: the cluster failure (a GPU allocated, a CPU-only TensorFlow training on the CPU)
must show as a warning and in every record, without a GPU on the test host."""

from __future__ import annotations

import json
import logging

import pytest

from amrcomp import machine, records, tfsetup

CPU = "AMD EPYC 9R14"
T4 = ["Tesla T4, 550.54.15"]


def devices(tensorflow_gpus=None, environ=None, nvidia=(), **kw):
    """`machine.devices` on fake host facts only (no nvidia-smi, /proc or os.environ)."""
    return machine.devices(tensorflow_gpus, environ or {}, nvidia=list(nvidia), cpu=CPU, **kw)


def test_gpu_node_with_cpu_only_tensorflow_warns_and_says_cpu():
    found = devices([], nvidia=T4)
    assert found["warning"].startswith(
        "a GPU was allocated but TensorFlow cannot use it (CPU-only TensorFlow build?): "
        "install the gpu extra"
    )
    assert "nvidia-smi: Tesla T4" in found["warning"]
    assert found["used"] == f"CPU: {CPU} (allocated GPU unused)"
    assert found["gpus"] == ["Tesla T4"] and found["tensorflow_gpus"] == []


@pytest.mark.parametrize(
    "environ,evidence",
    [
        ({"CUDA_VISIBLE_DEVICES": "0"}, "CUDA_VISIBLE_DEVICES=0"),
        ({"SLURM_JOB_GPUS": "3"}, "SLURM GPUs 3"),
        ({"SLURM_STEP_GPUS": "1,2"}, "SLURM GPUs 1,2"),
    ],
)
def test_allocation_without_a_driver_gpu_still_warns(environ, evidence):
    """nvidia-smi may be missing inside a container; the allocation alone is reason to warn."""
    found = devices([], environ)
    assert "TensorFlow cannot use it" in found["warning"] and evidence in found["warning"]
    assert found["cuda_visible_devices"] == environ.get("CUDA_VISIBLE_DEVICES")
    assert found["slurm_job_gpus"] == (
        environ.get("SLURM_JOB_GPUS") or environ.get("SLURM_STEP_GPUS")
    )


def test_tensorflow_gpu_is_what_was_used():
    env = {"CUDA_VISIBLE_DEVICES": "0", "SLURM_JOB_GPUS": "2"}
    found = devices(["NVIDIA A100-SXM4-40GB"], env, ["NVIDIA A100-SXM4-40GB, 550.1"])
    assert found == {
        "cpu": CPU,
        "gpus": ["NVIDIA A100-SXM4-40GB"],
        "tensorflow_gpus": ["NVIDIA A100-SXM4-40GB"],
        "cuda_visible_devices": "0",
        "slurm_job_gpus": "2",
        "used": f"GPU: NVIDIA A100-SXM4-40GB (TensorFlow); CPU: {CPU}",
        "warning": None,
    }
    json.dumps(found)  # goes into JSON records as it is
    assert devices(["A100", "A100"])["used"].startswith("GPU: 2x A100 (TensorFlow)")


def test_no_gpu_anywhere_is_the_cpu():
    found = devices([])
    assert found["used"] == f"CPU: {CPU}" and found["warning"] is None
    assert found["gpus"] == [] and found["cuda_visible_devices"] is None
    assert found["slurm_job_gpus"] is None


@pytest.mark.parametrize("hidden", ["", "-1", "NoDevFiles"])
def test_gpus_hidden_on_purpose_do_not_warn(hidden):
    found = devices([], {"CUDA_VISIBLE_DEVICES": hidden}, T4)
    assert found["warning"] is None and found["used"] == f"CPU: {CPU}"


def test_jobs_without_tensorflow_compute_on_the_cpu_and_never_warn():
    """LiteRT, ONNX Runtime and OpenVINO benchmarks on a GPU node: the CPU, no TensorFlow."""
    found = devices(None, {"CUDA_VISIBLE_DEVICES": "0"}, T4)
    assert found["tensorflow_gpus"] is None and found["warning"] is None
    assert found["used"] == f"CPU: {CPU}"


@pytest.mark.parametrize(
    "lines,visible,index,name",
    [
        (T4, None, 0, "Tesla T4"),
        (["A, 1", "B, 1", "C, 1"], "2", 0, "C"),  # no cgroups: physical index
        (["C, 1"], "2", 0, "C"),  # cgroups: nvidia-smi lists only the allocation
        (["A, 1", "B, 1", "C, 1"], "2,0", 1, "A"),
        (["T4, 1", "T4, 1"], "GPU-0a1b", 0, "T4"),  # UUID on a node of one GPU model
        (["A, 1", "B, 1", "C, 1"], "GPU-0a1b", 0, None),  # UUID: cannot tell which
        ([], None, 0, None),
    ],
)
def test_tensorrt_names_its_cuda_device(lines, visible, index, name):
    env = {} if visible is None else {"CUDA_VISIBLE_DEVICES": visible}
    found = devices(None, env, lines, gpu_runtime="TensorRT", gpu_index=index)
    assert found["used"] == f"GPU: {name or f'unknown GPU {index}'} (TensorRT); CPU: {CPU}"
    assert found["warning"] is None


def test_benchmark_backends_compute_where_they_say(monkeypatch):
    from amrcomp import bench

    monkeypatch.setattr(machine, "nvidia_gpus", lambda: T4)
    monkeypatch.setattr(machine, "cpu_model", lambda: CPU)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert bench.backend_devices("tensorrt")["used"] == f"GPU: Tesla T4 (TensorRT); CPU: {CPU}"
    for backend in ("onnxruntime", "litert", "openvino"):
        assert bench.backend_devices(backend)["used"] == f"CPU: {CPU}"


def test_tensorflow_job_logs_the_warning(monkeypatch, caplog):
    monkeypatch.setattr(machine, "nvidia_gpus", lambda: T4)
    monkeypatch.setattr(tfsetup, "tensorflow_gpus", lambda: [])
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    log = logging.getLogger("test_devices")
    with caplog.at_level(logging.INFO, logger="test_devices"):
        found = tfsetup.job_devices(log)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [found["warning"]] and "install the gpu extra" in warnings[0]
    assert found["used"].endswith("(allocated GPU unused)")


def test_this_hosts_tensorflow_lists_its_gpus():
    tfsetup.configure(2, 0)
    names = tfsetup.tensorflow_gpus()
    assert isinstance(names, list) and all(isinstance(n, str) and n for n in names)


def test_records_give_the_used_text_and_refuse_a_malformed_one(tmp_path):
    assert records.devices_used({"devices": devices([])}, "r.json") == f"CPU: {CPU}"
    assert records.devices_used({}, "r.json") is None  # written before devices were recorded
    with pytest.raises(records.RecordError, match=r"r\.json: devices must hold a 'used' text"):
        records.devices_used({"devices": "CPU"}, "r.json")


def test_summary_says_where_training_computed():
    import pandas as pd

    from amrcomp.report.comparisons import _run_section

    meta = {"dataset": {"name": "tiny", "source": "synthetic"}, "config_sha256": "0" * 64}
    same = pd.DataFrame({"model": ["m1", "m2"], "train_devices": [f"CPU: {CPU}"] * 2})
    assert f"Training computed on `CPU: {CPU}` (Table II `train_devices`)." in (
        _run_section(meta, same).text
    )
    mixed = pd.DataFrame({"model": ["m1", "m2"], "train_devices": ["GPU: T4 (TensorFlow)", None]})
    assert (
        "Training computed on m1 `GPU: T4 (TensorFlow)`; m2 `not recorded` (Table II "
        "`train_devices`)." in _run_section(meta, mixed).text
    )
