"""Benchmarks: timing methodology, the JSON record (ok and unsupported), machine info, real
backends on small models."""

from __future__ import annotations

import json

import numpy as np
import pytest

from amrcomp import tfsetup

tfsetup.configure(2, 0)

from amrcomp import machine, variants  # noqa: E402
from amrcomp.atomic import read_json, write_json  # noqa: E402
from amrcomp.bench import (  # noqa: E402
    RECORD_KEYS,
    BackendUnsupported,
    open_runner,
    reused_evaluation,
    run_benchmark,
    timing,  # noqa: E402
)
from amrcomp.frames import Split  # noqa: E402
from amrcomp.scoring import summarise  # noqa: E402
from amrcomp.settings import load_config, table5_variants  # noqa: E402
from conftest import BENCH_SETTINGS, TINY  # noqa: E402

CLASSES = [f"c{i}" for i in range(11)]
SETTINGS = BENCH_SETTINGS
LABELS = {"model": "model1", "variant": "magnitude-50", "dtype": "fp32", "backend": "onnxruntime"}


@pytest.fixture(scope="module")
def split() -> Split:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 2, 128)).astype(np.float32)
    x /= np.abs(x).sum(axis=(1, 2), keepdims=True)
    return Split(x=x, labels=rng.integers(0, 11, 40), snr=rng.choice([-4, 6], 40))


class LinearRunner:
    """A numpy 'backend' whose answers are known: class = argmax of a fixed projection."""

    clock = "fake device clock"

    def __init__(self, seconds_per_call: float | None = None, refuse: bool = False):
        self.w = np.random.default_rng(0).normal(size=(256, 11)).astype(np.float32)
        self.seconds, self.refuse, self.calls = seconds_per_call, refuse, 0

    def predict(self, x):
        if self.refuse:
            raise BackendUnsupported(
                "[ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : "
                "Could not find an implementation for Conv(11)"
            )
        return x.reshape(len(x), -1) @ self.w

    def bind(self, x):
        def call():
            self.calls += 1
            self.predict(x)
            return self.seconds

        return call

    def precision(self, frames):
        return {
            "executed_precision": "fp32",
            "precision_evidence": "numpy matmul in float32",
            "compute_ops": [["matmul", "fp32"]],
        }

    def info(self):
        return {"kind": "linear"}


# ---------------------------------------------------------------- timing


def test_time_calls_warms_up_and_meets_both_minimums():
    counter = {"n": 0}

    def call():
        counter["n"] += 1
        return 0.01

    times = timing.time_calls(call, warmup=4, repeats=3, min_seconds=0.1)
    assert len(times) >= 10 and times.sum() >= 0.1  # min_seconds dominated
    assert counter["n"] == len(times) + 4
    assert len(timing.time_calls(lambda: 1.0, 0, 5, 0.1)) == 5  # repeats dominated


def test_time_calls_uses_host_clock_without_device_time():
    times = timing.time_calls(lambda: None, 0, 3, 0.0)
    assert len(times) == 3 and np.all(times > 0) and np.all(times < 1)


def test_time_calls_rejects_bad_input():
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        timing.time_calls(lambda: None, 0, 0, 0.0)
    with pytest.raises(ValueError, match="must be positive"):
        timing.time_calls(lambda: 0.0, 0, 1, 0.0)


def test_summary_is_medians_and_percentiles():
    times = {1: np.array([0.001, 0.002, 0.003, 0.100]), 32: np.array([0.01, 0.02, 0.03])}
    out = timing.summarise(times, warmup=1, repeats=3, min_seconds=0.0, clock="x")
    assert out["throughput_fps"] == {"1": pytest.approx(1 / 0.0025), "32": pytest.approx(32 / 0.02)}
    assert out["latency_ms"]["p50"] == pytest.approx(2.5)
    assert out["latency_ms"]["p50"] <= out["latency_ms"]["p90"] <= out["latency_ms"]["p99"] < 100.0
    assert out["timing"]["calls"] == {"1": 4, "32": 3} and out["timing"]["statistic"] == "median"


def test_batch_input_tiles_frames():
    x = np.arange(3)[:, None].astype(np.float32)
    assert timing.batch_input(x, 2).ravel().tolist() == [0, 1]
    assert timing.batch_input(x, 7).ravel().tolist() == [0, 1, 2, 0, 1, 2, 0]
    with pytest.raises(ValueError, match="empty test split"):
        timing.batch_input(x[:0], 1)


# ---------------------------------------------------------------- records


def check_schema(record: dict) -> None:
    assert set(RECORD_KEYS) <= set(record), set(RECORD_KEYS) - set(record)
    assert record["status"] in ("ok", "unsupported", "not_offered")
    sizes = record["size_bytes"], record["size_zip_bytes"]
    if record["deployed_file"] is None:  # a QAT file with no ONNX copy: nothing to measure
        assert record["status"] == "not_offered" and sizes == (None, None)
    else:
        assert all(isinstance(size, int) for size in sizes)
    assert isinstance(record["threads"], int) and record["batch_sizes"] == sorted(
        record["batch_sizes"]
    )
    m = record["machine"]
    assert (
        isinstance(m["cpu"], str)
        and m["cpu"]
        and isinstance(m["cores"], int)
        and isinstance(m["gpus"], list)
    )
    assert {"onnxruntime", "ai-edge-litert", "openvino", "tensorflow", "tensorrt"} <= set(
        m["libraries"]
    )
    # where the backend computed: the CPU, or TensorRT's GPU (amrcomp.machine.devices)
    found = record["devices"]
    assert found["cpu"] == m["cpu"] and found["tensorflow_gpus"] is None
    assert found["used"].startswith("GPU: " if record["backend"] == "tensorrt" else "CPU: ")
    for key in ("warmup", "repeats", "min_seconds"):
        assert key in record["timing"]
    if record["status"] == "ok":
        assert record["message"] is None
        assert 0.0 <= record["accuracy"] <= 1.0 and record["accuracy_pct"] == pytest.approx(
            100 * record["accuracy"]
        )
        assert set(record["throughput_fps"]) >= {str(b) for b in record["batch_sizes"]} | {"1"}
        assert all(isinstance(v, float) and v > 0 for v in record["throughput_fps"].values())
        assert set(record["latency_ms"]) == {"p50", "p90", "p99"}
        assert {"confusion", "accuracy_per_snr", "n_frames"} <= set(record)
    else:
        assert isinstance(record["message"], str) and record["message"]
        assert (
            record["accuracy"] is None
            and record["throughput_fps"] is None
            and record["latency_ms"] is None
        )


def test_ok_record_schema_and_figures(split, tmp_path):
    deployed = tmp_path / "model.bin"
    deployed.write_bytes(b"\0" * 1000)
    runner = LinearRunner(seconds_per_call=0.002)
    record = run_benchmark(lambda: runner, deployed, split, CLASSES, SETTINGS, LABELS)
    check_schema(record)
    expected = (split.x.reshape(len(split), -1) @ runner.w).argmax(1)
    assert record["accuracy"] == pytest.approx(float((expected == split.labels).mean()))
    assert record["throughput_fps"] == {
        "1": pytest.approx(500.0),
        "4": pytest.approx(2000.0),
        "16": pytest.approx(8000.0),
    }
    assert record["latency_ms"] == {
        "p50": pytest.approx(2.0),
        "p90": pytest.approx(2.0),
        "p99": pytest.approx(2.0),
    }
    assert record["timing"]["clock"] == "fake device clock" and record["size_bytes"] == 1000
    assert runner.calls == 3 * (2 + 3)  # three batch sizes x (warm-up + repeats)
    write_json(tmp_path / "r.json", record)  # JSON-serialisable, no NaN
    assert read_json(tmp_path / "r.json")["status"] == "ok"


def test_an_earlier_evaluation_is_reused_not_scored_again(split, tmp_path):
    deployed = tmp_path / "model.tflite"
    deployed.write_bytes(b"\0" * 10)
    predicted = np.zeros(len(split), dtype=np.int64)  # not the runner's answers: visibly reused
    scored = tmp_path / "eval.json"
    write_json(scored, summarise(split.labels, split.snr, predicted, CLASSES))
    runner = LinearRunner(seconds_per_call=0.002)
    reused = reused_evaluation(scored, split)
    record = run_benchmark(lambda: runner, deployed, split, CLASSES, SETTINGS, LABELS, None, None,
                           0, reused)  # fmt: skip
    check_schema(record)
    assert record["evaluation_source"] == str(scored)
    assert record["accuracy"] == pytest.approx(float((split.labels == 0).mean()))
    # an ONNX export's check record carries it under "evaluation"; one without it gives None
    check = tmp_path / "x.check.json"
    write_json(check, {"check": {"status": "checked"}, "evaluation": read_json(scored)})
    assert reused_evaluation(check, split)["predicted"] == reused["predicted"]
    write_json(check, {"check": {"status": "checked"}, "evaluation": None})
    assert reused_evaluation(check, split) is None


def test_an_evaluation_of_other_frames_is_refused(split, tmp_path):
    other = summarise(split.labels[::-1], split.snr[::-1], split.labels, CLASSES)
    write_json(tmp_path / "eval.json", other)
    with pytest.raises(ValueError, match="scored other test frames"):
        reused_evaluation(tmp_path / "eval.json", split)
    write_json(tmp_path / "eval.json", {"accuracy": 0.5})
    with pytest.raises(ValueError, match=r"no whole evaluation \(lacks \['classes'"):
        reused_evaluation(tmp_path / "eval.json", split)


def test_unsupported_record_keeps_backend_message(split, tmp_path):
    deployed = tmp_path / "model.onnx"
    deployed.write_bytes(b"x" * 10)
    record = run_benchmark(
        lambda: LinearRunner(refuse=True),
        deployed,
        split,
        CLASSES,
        SETTINGS,
        {**LABELS, "dtype": "fp16"},
    )
    check_schema(record)
    assert record["status"] == "unsupported" and "NOT_IMPLEMENTED" in record["message"]
    assert record["dtype"] == "fp16" and record["backend_info"] == {
        "kind": "linear"
    }  # opened, refused on first run
    json.dumps(record, allow_nan=False)


def test_other_backend_errors_propagate(split, tmp_path):
    deployed = tmp_path / "m"
    deployed.write_bytes(b"x")

    def broken():
        raise RuntimeError("a real bug")

    with pytest.raises(RuntimeError, match="a real bug"):
        run_benchmark(broken, deployed, split, CLASSES, SETTINGS, LABELS)


def test_settings_must_name_batch_sizes(split, tmp_path):
    no_batch_sizes = {k: v for k, v in SETTINGS.items() if k != "batch_sizes"}
    with pytest.raises(ValueError, match=r"lack \['batch_sizes'\]"):
        run_benchmark(LinearRunner, tmp_path, split, CLASSES, no_batch_sizes, LABELS)


# ---------------------------------------------------------------- machine


def test_machine_parsing():
    info = (
        "processor : 0\nmodel name\t: AMD EPYC 9R14\nflags\t\t: fpu avx2 avx512f avx512_vnni sse\n"
    )
    assert machine.cpu_model(info) == "AMD EPYC 9R14"
    assert machine.cpu_flags(info) == ["avx2", "avx512f", "avx512_vnni"]
    assert machine.parse_gpus(["Tesla T4, 550.54.15"]) == [
        {"name": "Tesla T4", "driver": "550.54.15"}
    ]
    versions = machine.library_versions(("numpy", "surely-not-installed-pkg"))
    assert versions["numpy"] == np.__version__ and versions["surely-not-installed-pkg"] is None


# ---------------------------------------------------------------- real backends


@pytest.fixture(scope="module")
def small_model():
    from amrcomp.models import build_model

    tfsetup.configure(2, 0)
    return build_model("oshea_cnn2", filters=(4, 4), dense_units=16)


def test_onnxruntime_backend_end_to_end(small_model, split, tmp_path):
    from amrcomp.export import keras_to_onnx

    path = tmp_path / "m.onnx"
    keras_to_onnx(small_model, path, 17)
    record = run_benchmark(
        lambda: open_runner("onnxruntime", path, 1), path, split, CLASSES, SETTINGS, LABELS
    )
    check_schema(record)
    assert record["status"] == "ok" and record["backend_info"]["intra_op_num_threads"] == 1
    keras_pred = small_model(split.model_input(), training=False).numpy().argmax(1)
    assert record["accuracy"] == pytest.approx(float((keras_pred == split.labels).mean()))


def test_onnxruntime_refusal_is_unsupported(split, tmp_path):
    """A graph the CPU provider cannot run (float64 Conv) gives ORT's own NOT_IMPLEMENTED text."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("Conv", ["iq", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("iq", TensorProto.DOUBLE, [None, 2, 128, 1])],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)],
        [numpy_helper.from_array(np.ones((1, 2, 1, 1)), "w")],
    )
    path = tmp_path / "double.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    record = run_benchmark(
        lambda: open_runner("onnxruntime", path, 1),
        path,
        split,
        CLASSES,
        SETTINGS,
        {**LABELS, "dtype": "fp16"},
    )
    check_schema(record)
    assert record["status"] == "unsupported"
    assert (
        "NOT_IMPLEMENTED" in record["message"]
        and "Could not find an implementation for Conv" in record["message"]
    )


@pytest.mark.parametrize("dtype", ["fp32", "int8"])
def test_litert_backend_end_to_end(small_model, split, tmp_path, dtype):
    from amrcomp import quantize, tflite

    path = tmp_path / f"m-{dtype}.tflite"
    calibration = quantize.representative_frames(split, 16, seed=0) if dtype == "int8" else None
    tflite.write_tflite(tflite.convert(small_model, dtype, calibration), path)
    record = run_benchmark(
        lambda: open_runner("litert", path, 1),
        path,
        split,
        CLASSES,
        SETTINGS,
        {**LABELS, "dtype": dtype, "backend": "litert"},
    )
    check_schema(record)
    assert record["status"] == "ok"
    assert record["backend_info"]["tensor_types"]["input_dtype"] == (
        "int8" if dtype == "int8" else "float32"
    )
    if dtype == "fp32":
        keras_pred = small_model(split.model_input(), training=False).numpy().argmax(1)
        assert record["accuracy"] == pytest.approx(float((keras_pred == split.labels).mean()))


def test_litert_refusal_needs_a_named_op_and_dtype():
    """An op version this LiteRT lacks names no dtype: a setup fault that fails the job."""
    from amrcomp.bench.litert import refusal

    assert refusal(RuntimeError("Didn't find op for builtin opcode 'CONV_2D' version '9'")) is None
    assert refusal(RuntimeError("tensor index 3 out of range")) is None


def test_unknown_backend_is_named(tmp_path):
    with pytest.raises(ValueError, match="unknown backend 'tvm'"):
        open_runner("tvm", tmp_path, 1)


def test_a_qat_file_tf2onnx_cannot_convert_is_not_offered_on_the_onnx_runtimes(tmp_path):
    from amrcomp import records
    from amrcomp.bench import benchmark_file
    from amrcomp.tables.deployment import bench_measurements

    offer = tmp_path / "qat-int8.offer.json"
    reason = "no ONNX copy of this QAT .tflite (tf2onnx 1.17.0 from_tflite failed: KeyError: 'x')"
    write_json(offer, {"offered": False, "reason": reason, "converter": "tf2onnx 1.17.0"})
    labels = {**LABELS, "variant": "qat", "dtype": "int8", "backend": "openvino"}
    # Nothing is loaded: neither a file nor the test split (the data folder does not exist).
    record = benchmark_file(None, tmp_path / "no-data", SETTINGS, 0, labels, offer=offer)
    check_schema(record)
    assert (record["status"], record["message"], record["deployed_file"]) == (
        "not_offered",
        reason,
        None,
    )
    path = tmp_path / "bench.json"
    write_json(path, record)
    row = bench_measurements(records.bench(path), 32, path)
    assert row["note"] == f"not offered: {reason}" and np.isnan(row["size_mib"])
    write_json(offer, {"offered": True, "reason": None, "converter": "tf2onnx 1.17.0"})
    with pytest.raises(ValueError, match="offers an ONNX copy or gives no reason"):
        benchmark_file(None, tmp_path, SETTINGS, 0, labels, offer=offer)


# ---------------------------------------------------------------- workflow


@pytest.mark.e2e
def test_bench_jsons_for_configured_backends(tiny_run):
    config = load_config(TINY)
    deploy = config["deploy"]
    for backend in deploy["backends"]:
        for model in config["models"]:
            for variant in table5_variants(config, model):
                for dtype in deploy["dtypes"]:
                    path = tiny_run / f"results/bench/{backend}/{model}/{variant}-{dtype}.json"
                    assert path.exists(), f"missing {path}"
                    record = read_json(path)
                    check_schema(record)
                    assert (
                        record["backend"],
                        record["model"],
                        record["variant"],
                        record["dtype"],
                    ) == (backend, model, variant, dtype)
                    if record["status"] == "ok":
                        assert record["n_frames"] > 0 and set(record["throughput_fps"]) >= {
                            str(b) for b in deploy["batch_sizes"]
                        }
                    if record["status"] == "not_offered":  # bf16 where the runtime has none
                        assert dtype == "bf16" and record["message"]
                    check_reuse(tiny_run, record)
                    # bf16 runs the fp32 file: no bf16 export exists
                    stem = f"{model}/{variant}-{variants.file_dtype(dtype)}"
                    check = tiny_run / f"results/onnx/{stem}.check.json"
                    assert read_json(check)["check"]["status"] == "checked"


def check_reuse(run, record: dict) -> None:
    """LiteRT and ONNX Runtime rows at their file's own dtype take the accuracy their file was
    scored with on that runtime (eval_tflite, the export check); other rows score it."""
    stem = f"{record['model']}/{record['variant']}-{record['dtype']}"
    scored = {
        "litert": f"results/eval/tflite/{stem}.json",
        "onnxruntime": f"results/onnx/{stem}.check.json",
    }
    source = scored.get(record["backend"]) if record["status"] == "ok" else None
    if source and record["backend"] == "onnxruntime" and variants.parse(record["variant"]).is_qat:
        source = None  # its check compared with LiteRT, without labels
    assert record["evaluation_source"] == source, (stem, record["backend"])
    if source:
        earlier = read_json(run / source)
        earlier = earlier.get("evaluation", earlier)
        assert (record["predicted"], record["accuracy"]) == (
            earlier["predicted"],
            earlier["accuracy"],
        )
