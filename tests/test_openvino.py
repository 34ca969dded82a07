"""OpenVINO as a benchmark backend on real ONNX exports, and bf16 where a runtime and CPU offer
it (recorded as not offered elsewhere)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest

from amrcomp import tfsetup

tfsetup.configure(2, 0)

from amrcomp import export, variants  # noqa: E402
from amrcomp.bench import open_runner, run_benchmark  # noqa: E402
from amrcomp.bench.offers import BF16_NOT_OFFERED, bf16_offer, known_not_offered  # noqa: E402
from amrcomp.bench.openvino import cpu_capabilities, refusal  # noqa: E402
from amrcomp.frames import Split  # noqa: E402
from conftest import BENCH_SETTINGS, ROOT, l1_frames  # noqa: E402

CLASSES = [f"c{i}" for i in range(11)]
SETTINGS = {**BENCH_SETTINGS, "warmup": 1}
LABELS = {"model": "model1", "variant": "magnitude-50", "dtype": "fp32", "backend": "openvino"}
HAS_BF16 = "BF16" in cpu_capabilities()


@pytest.fixture(scope="module")
def split() -> Split:
    return l1_frames(40, 5)


@pytest.fixture(scope="module")
def onnx_files(tmp_path_factory, split) -> dict[str, str]:
    """fp32, fp16 and int8 QDQ exports of a small real model (biases nonzero, as trained)."""
    from amrcomp.models import build_model

    model = build_model("oshea_cnn2", filters=(4, 4), dense_units=16)
    rng = np.random.default_rng(0)
    biases = [w + rng.normal(0, 0.05, w.shape).astype(w.dtype) for w in model.get_weights()]
    model.set_weights([b if w.ndim == 1 else w for b, w in zip(biases, model.get_weights())])
    out = tmp_path_factory.mktemp("openvino")
    paths = {dtype: str(out / f"m-{dtype}.onnx") for dtype in ("fp32", "fp16", "int8")}
    export.keras_to_onnx(model, paths["fp32"], 17)
    export.save_onnx(export.to_float16(onnx.load(paths["fp32"])), paths["fp16"])
    export.quantize_int8(
        paths["fp32"], paths["int8"], split.model_input(0, 32), "minmax", "onnxruntime", 16
    )
    return paths


def test_fp32_predictions_match_onnxruntime(onnx_files, split):
    x = split.model_input()
    ours = open_runner("openvino", onnx_files["fp32"], 1).predict(x)
    ort = open_runner("onnxruntime", onnx_files["fp32"], 1).predict(x)
    assert ours.shape == ort.shape == (len(x), 11)
    np.testing.assert_allclose(ours, ort, atol=1e-5)
    assert (ours.argmax(1) == ort.argmax(1)).all()


def test_benchmark_record_matches_onnxruntime_accuracy(onnx_files, split):
    path = onnx_files["fp32"]
    ours = run_benchmark(
        lambda: open_runner("openvino", path, 1), path, split, CLASSES, SETTINGS, LABELS
    )
    ort = run_benchmark(
        lambda: open_runner("onnxruntime", path, 1),
        path,
        split,
        CLASSES,
        SETTINGS,
        {**LABELS, "backend": "onnxruntime"},
    )
    assert ours["status"] == "ok" and ours["accuracy"] == ort["accuracy"]
    assert set(ours["throughput_fps"]) == {"1", "4", "16"} and ours["latency_ms"]["p50"] > 0
    assert ours["executed_precision"] == "fp32" and "Convolution fp32" in ours["precision_evidence"]
    info = ours["backend_info"]
    assert (
        info["compiled"]["INFERENCE_NUM_THREADS"] == "1" and info["requested"]["NUM_STREAMS"] == 1
    )
    assert info["compiled"]["PERFORMANCE_HINT"] == "LATENCY"
    json.dumps(ours, allow_nan=False)


@pytest.mark.parametrize("dtype", ["fp32", "fp16", "int8"])
def test_file_rows_compile_with_an_explicit_f32_hint(onnx_files, split, dtype):
    """The CPU plugin would pick bf16 by itself on this CPU: every file row asks for f32, on the
    scoring compile and on each timed static-batch compile."""
    import openvino as ov

    runner = open_runner("openvino", onnx_files[dtype], 1, dtype=dtype)
    runner.bind(split.model_input(0, 4))
    compiled = [runner.compiled, *(r.get_compiled_model() for r in runner.static.values())]
    assert len(compiled) == 2
    assert all(c.get_property("INFERENCE_PRECISION_HINT") == ov.Type.f32 for c in compiled)
    executed = runner.precision(None)
    expected = "int8" if dtype == "int8" else "fp32"  # the fp16 file's weights are decompressed
    assert executed["executed_precision"] == expected, executed["precision_evidence"]


@pytest.mark.skipif(not HAS_BF16, reason="this CPU's OpenVINO plugin lists no BF16")
def test_bf16_row_runs_the_fp32_file_in_bf16(onnx_files, split):
    import openvino as ov

    path = onnx_files["fp32"]
    labels = {**LABELS, "dtype": "bf16"}
    record = run_benchmark(
        lambda: open_runner("openvino", path, 1, dtype="bf16"),
        path,
        split,
        CLASSES,
        SETTINGS,
        labels,
    )
    assert record["status"] == "ok" and record["executed_precision"] == "bf16"
    assert "Convolution bf16" in record["precision_evidence"]
    assert record["backend_info"]["compiled"]["INFERENCE_PRECISION_HINT"] == "bf16"
    runner = open_runner("openvino", path, 1, dtype="bf16")
    assert runner.compiled.get_property("INFERENCE_PRECISION_HINT") == ov.Type.bf16
    x = split.model_input()
    reference = open_runner("openvino", path, 1).predict(x)
    gap = np.abs(runner.predict(x) - reference).max()
    assert 0 < gap < 0.05  # bfloat16 rounding (8-bit mantissa), not another model


def test_bf16_offer_is_decided_from_the_cpu_plugin_capabilities():
    offered, why = bf16_offer("openvino", ["FP32", "BF16", "INT8"])
    assert offered and "BF16" in why
    offered, why = bf16_offer("openvino", ["FP32", "INT8"])
    assert not offered and "no BF16" in why and "FP32, INT8" in why
    assert bf16_offer("openvino", None)[0] is False


@pytest.mark.parametrize("backend", sorted(BF16_NOT_OFFERED))
def test_bf16_is_not_offered_by_the_other_runtimes_whatever_the_cpu(backend):
    offered, why = bf16_offer(backend, ["BF16"])
    assert not offered and why == BF16_NOT_OFFERED[backend]


def test_rows_known_not_offered_take_one_core_and_no_benchmark_slot():
    """Their jobs time nothing, so the bench rule runs them beside other jobs; OpenVINO's bf16
    depends on the CPU and times like any row."""
    assert {b for b in variants.BACKENDS if known_not_offered(b, "bf16")} == set(BF16_NOT_OFFERED)
    assert not known_not_offered("openvino", "bf16") and not known_not_offered("litert", "fp32")
    rule = (ROOT / "rules" / "bench.smk").read_text().split("rule benchmark:")[1]
    assert "1 if known_not_offered(wc.backend, wc.dtype) else workflow.cores" in rule
    assert "benchmark_slot=lambda wc: int(not known_not_offered(wc.backend, wc.dtype))" in rule


def test_bf16_offer_names_unknown_backends():
    with pytest.raises(ValueError, match="unknown backend 'tvm'"):
        bf16_offer("tvm", ["BF16"])


def test_cpu_plugin_refusal_names_the_op():
    err = RuntimeError("Exception ... Unsupported operation of type: Foo name: foo_1")
    assert refusal(err) == {"op": "Foo", "dtype": None}
    assert refusal(RuntimeError("Model wasn't fully converted.")) is None


def test_not_offered_record_is_written_fast_without_tensorflow(onnx_files, tmp_path):
    """A bf16 row on ONNX Runtime: nothing is loaded (not even the test split, whose folder does
    not exist here) and TensorFlow is never imported."""
    code = f"""
import json, sys
sys.path.insert(0, {str(ROOT / "workflow")!r})
from amrcomp.bench import benchmark_file
labels = {{**{LABELS!r}, "dtype": "bf16", "backend": "onnxruntime"}}
record = benchmark_file({onnx_files["fp32"]!r}, "/nonexistent", {SETTINGS!r}, 0, labels)
assert "tensorflow" not in sys.modules, "TensorFlow imported"
print(json.dumps(record))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads(proc.stdout)
    assert (
        record["status"] == "not_offered" and record["message"] == BF16_NOT_OFFERED["onnxruntime"]
    )
    assert record["throughput_fps"] is None and record["executed_precision"] == "unknown"
    assert record["deployed_file"] == onnx_files["fp32"] and record["size_bytes"] > 0


def test_runtime_graph_precisions_are_read_per_compute_node():
    from amrcomp import precision

    nodes = [
        {"layerType": "Input", "runtimePrecision": "f32"},
        {"layerType": "Convolution", "runtimePrecision": "u8", "primitiveType": "brgconv_I8"},
        {"layerType": "FullyConnected", "runtimePrecision": "bf16", "primitiveType": "brgemm"},
        {"layerType": "Reorder", "runtimePrecision": "bf16"},
    ]
    assert precision.openvino_compute(nodes) == [
        ("Convolution", "int8"),
        ("FullyConnected", "bf16"),
    ]
    out = precision.openvino_result(nodes, "bf16")
    assert out["executed_precision"] == "mixed"
    assert out["precision_evidence"] == (
        "OpenVINO CPU runtime graph: 1 Convolution int8, 1 FullyConnected bf16; "
        "INFERENCE_PRECISION_HINT bf16; kernels brgconv_I8, brgemm"
    )
    unknown = [{"layerType": "Convolution", "runtimePrecision": "f8e4m3"}]
    assert precision.openvino_result(unknown, "f32")["executed_precision"] == "unknown"
