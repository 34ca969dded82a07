"""Executed precision: what each backend's own evidence says its kernels computed in (ONNX
Runtime's optimised graph, LiteRT's ops after delegation plus a measurement, TensorRT's engine
layers), on fixtures and on small real models; never the file's dtype."""

from __future__ import annotations

import numpy as np
import pytest

from amrcomp import tfsetup

tfsetup.configure(2, 0)

import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from amrcomp import precision  # noqa: E402
from amrcomp.bench import open_runner, run_benchmark  # noqa: E402
from amrcomp.frames import Split  # noqa: E402
from conftest import BENCH_SETTINGS  # noqa: E402

CLASSES = [f"c{i}" for i in range(11)]


def graph(nodes, inputs, initializers=()):
    """A GraphProto of `nodes` over typed inputs (name -> TensorProto type) and initialisers."""
    return helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, t, None) for n, t in inputs.items()],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in dict(initializers).items()],
    )


# ---------------------------------------------------------------- combining evidence


def test_combine_names_one_precision_mixed_or_unknown():
    assert precision.combine([("Conv", "fp32"), ("Gemm", "fp32")]) == "fp32"
    assert precision.combine([("QLinearConv", "int8"), ("Gemm", "fp32")]) == "mixed"
    assert precision.combine([("Conv", "fp16"), ("Conv", "unknown")]) == "unknown"
    assert precision.combine([]) == "unknown"  # no compute op found is no evidence
    out = precision.result([("QGemm", "int8"), ("QGemm", "int8")], "src", ["2 Cast nodes"])
    assert out["executed_precision"] == "int8"
    assert out["precision_evidence"] == "src: 2 QGemm int8; 2 Cast nodes"
    assert precision.not_run("litert refused the model")["executed_precision"] == "unknown"


# ---------------------------------------------------------------- ONNX Runtime graphs


def test_onnx_float16_file_cast_to_float_computes_fp32():
    """ORT's x86 CPU provider wraps float16 Convs in Casts to float: compute is fp32."""
    nodes = [
        helper.make_node("Cast", ["iq"], ["h"], to=TensorProto.FLOAT16),
        helper.make_node("Cast", ["h"], ["f"], to=TensorProto.FLOAT),
        helper.make_node("Conv", ["f", "w"], ["y"], domain="com.microsoft.nchwc"),
        helper.make_node("Cast", ["y"], ["yh"], to=TensorProto.FLOAT16),
        helper.make_node("Cast", ["yh"], ["out"], to=TensorProto.FLOAT),
    ]
    g = graph(nodes, {"iq": TensorProto.FLOAT}, {"w": np.ones((1, 1, 1, 1), np.float32)})
    assert precision.onnx_compute(g) == [("nchwc.Conv", "fp32")]


def test_onnx_float16_compute_int8_kernels_and_unfused_qdq():
    half = [
        helper.make_node("Cast", ["iq"], ["h"], to=TensorProto.FLOAT16),
        helper.make_node("MatMul", ["h", "w"], ["out"]),
    ]
    g = graph(half, {"iq": TensorProto.FLOAT}, {"w": np.ones((2, 2), np.float16)})
    assert precision.onnx_compute(g) == [("MatMul", "fp16")]
    qdq = [
        helper.make_node("QuantizeLinear", ["iq", "s", "z"], ["q"]),
        helper.make_node(
            "QLinearConv",
            ["q", "s", "z", "wq", "s", "zw", "s", "z"],
            ["qc"],
            domain="com.microsoft",
        ),
        helper.make_node("DequantizeLinear", ["qc", "s", "z"], ["d"]),
        helper.make_node("Gemm", ["d", "w"], ["out"]),  # Q/DQ left unfused: float compute
    ]
    inits = {
        "s": np.float32(0.1),
        "z": np.uint8(128),
        "zw": np.int8(0),
        "wq": np.ones((1, 1, 1, 1), np.int8),
        "w": np.ones((2, 2), np.float32),
    }
    g = graph(qdq, {"iq": TensorProto.FLOAT}, inits)
    assert precision.onnx_compute(g) == [("QLinearConv", "int8"), ("Gemm", "fp32")]
    assert precision.combine(precision.onnx_compute(g)) == "mixed"
    double = [helper.make_node("Conv", ["iq", "w"], ["out"])]
    g = graph(double, {"iq": TensorProto.DOUBLE}, {"w": np.ones((1, 1, 1, 1))})
    assert precision.onnx_compute(g) == [("Conv", "unknown")]  # neither fp32 nor fp16


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """fp32, fp16 and int8 ONNX plus fp32, fp16 and int8 .tflite of one small random model."""
    from amrcomp import export, quantize, tflite
    from amrcomp.models import build_model

    tfsetup.configure(2, 0)
    model = build_model("oshea_cnn2", filters=(8, 8), dense_units=32)
    rng = np.random.default_rng(0)
    model.set_weights(
        [w + rng.normal(0, 0.05, w.shape).astype(w.dtype) for w in model.get_weights()]
    )
    x = rng.normal(size=(48, 2, 128)).astype(np.float32)
    x /= np.abs(x).sum(axis=(1, 2), keepdims=True)
    split = Split(x=x, labels=rng.integers(0, 11, 48), snr=rng.choice([-4, 6], 48))
    out = tmp_path_factory.mktemp("precision")
    paths = {f"onnx-{d}": out / f"m-{d}.onnx" for d in ("fp32", "fp16", "int8")}
    export.keras_to_onnx(model, paths["onnx-fp32"], 17)
    export.save_onnx(export.to_float16(onnx.load(str(paths["onnx-fp32"]))), paths["onnx-fp16"])
    export.quantize_int8(
        paths["onnx-fp32"], paths["onnx-int8"], x[:32, ..., None], "minmax", "onnxruntime", 16
    )
    calibration = quantize.representative_frames(split, 16, seed=0)
    for dtype in ("fp32", "fp16", "int8"):
        paths[f"tflite-{dtype}"] = out / f"m-{dtype}.tflite"
        converted = tflite.convert(model, dtype, calibration if dtype == "int8" else None)
        tflite.write_tflite(converted, paths[f"tflite-{dtype}"])
    return paths, split


@pytest.mark.parametrize("dtype,expected", [("fp32", "fp32"), ("fp16", "fp32"), ("int8", "int8")])
def test_onnxruntime_reports_what_its_cpu_provider_runs(exports, dtype, expected):
    """The fp16 file runs in fp32 on ORT's x86 CPU provider; the int8 file in integer kernels."""
    paths, split = exports
    found = open_runner("onnxruntime", paths[f"onnx-{dtype}"], 1).precision(split.model_input())
    assert found["executed_precision"] == expected, found
    if dtype == "fp16":
        assert "Cast nodes" in found["precision_evidence"]
    if dtype == "int8":
        assert {op for op, _ in found["compute_ops"]} <= {"QLinearConv", "QGemm", "MatMulInteger"}


# ---------------------------------------------------------------- LiteRT ops and measurement


def op(name, inputs, outputs):
    return {"op_name": name, "inputs": np.asarray(inputs), "outputs": np.asarray(outputs)}


# An fp16 .tflite as LiteRT lists it: DEQUANTIZE of float16 weights, float32 CONV and
# FULLY_CONNECTED, all inside one XNNPACK DELEGATE node (the original ops stay listed).
FP16_OPS = [
    op("DEQUANTIZE", [1], [3]),
    op("DEQUANTIZE", [2], [4]),
    op("CONV_2D", [0, 3], [5]),
    op("FULLY_CONNECTED", [5, 4], [6]),
    op("DELEGATE", [0, 1, 2], [6]),
]
FP16_TYPES = {0: "float32", 1: "float16", 2: "float16", 3: "float32", 4: "float32"}
FP16_TYPES |= {5: "float32", 6: "float32"}
# A full-integer .tflite: the int8 SOFTMAX stays on the builtin kernels (outside the delegate).
INT8_OPS = [
    op("CONV_2D", [0, 1, 2], [3]),
    op("FULLY_CONNECTED", [3, 4, 5], [6]),
    op("SOFTMAX", [6], [7]),
    op("DELEGATE", [0, 1, 2, 4, 5], [6]),
]
INT8_TYPES = {0: "int8", 1: "int8", 2: "int32", 3: "int8", 4: "int8", 5: "int32"}
INT8_TYPES |= {6: "int8", 7: "int8"}


def test_delegated_ops_are_found_between_the_delegates_inputs_and_outputs():
    assert precision.delegated_nodes(FP16_OPS) == {0, 1, 2, 3}
    assert precision.delegated_nodes(INT8_OPS) == {0, 1}


def test_litert_integer_ops_need_no_measurement():
    def never():
        raise AssertionError("integer ops were measured")

    found = precision.litert_result(INT8_OPS, INT8_TYPES, never)
    assert found["executed_precision"] == "int8"
    assert "1 CONV_2D (delegated) int8" in found["precision_evidence"]


def test_litert_float_ops_in_a_delegate_take_the_measured_precision():
    figures = {
        "n_frames": 16,
        "max_diff_fp32_ref": 2e-8,
        "fp16_gap": 8e-5,
        "max_diff_fp16_ref": 8e-5,
    }
    found = precision.litert_result(FP16_OPS, FP16_TYPES, lambda: ("fp32", figures))
    assert found["executed_precision"] == "fp32"
    evidence = found["precision_evidence"]
    assert "2 float16 constants DEQUANTIZEd to float32" in evidence
    assert "measured fp32: on 16 frames outputs 2e-08 from the fp32-computed reference" in evidence
    measured_fp16 = precision.litert_result(FP16_OPS, FP16_TYPES, lambda: ("fp16", figures))
    assert measured_fp16["executed_precision"] == "fp16"
    unmeasured = precision.litert_result(FP16_OPS, FP16_TYPES, None)
    assert unmeasured["executed_precision"] == "unknown"  # the delegate's inside is opaque
    assert "no reference to measure them against" in unmeasured["precision_evidence"]


def test_litert_float_ops_on_builtin_kernels_compute_fp32_and_hybrid_is_unknown():
    builtin = [op("CONV_2D", [0, 1], [2])]
    found = precision.litert_result(builtin, {0: "float32", 1: "float32", 2: "float32"}, None)
    assert found["executed_precision"] == "fp32"
    hybrid = precision.litert_compute(builtin, {0: "float32", 1: "int8", 2: "float32"})
    assert hybrid == [("CONV_2D", "unknown", False)]


def test_measurement_tells_fp32_from_fp16_and_says_unknown_otherwise():
    rng = np.random.default_rng(1)
    fp32 = rng.dirichlet(np.ones(11), size=16)
    fp16 = fp32 + rng.normal(0, 1e-4, fp32.shape)
    other_fp16 = fp32 + rng.normal(0, 1e-4, fp32.shape)  # fp16 compute, other rounding
    assert precision.measured(fp32 + 1e-8, fp32, fp16)[0] == "fp32"
    label, figures = precision.measured(other_fp16, fp32, fp16)
    assert label == "fp16" and figures["n_frames"] == 16
    assert precision.measured(fp32 + 0.05, fp32, fp16)[0] == "unknown"  # far from both
    assert precision.measured(fp32, fp32, fp32 + 1e-8)[0] == "unknown"  # fp16 moves nothing


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
def test_litert_float_models_are_measured_fp32_on_xnnpack(exports, dtype):
    """XNNPACK upcasts the fp16 file's weights and computes in float32, like the fp32 file."""
    paths, split = exports
    runner = open_runner("litert", paths[f"tflite-{dtype}"], 1, fp16_reference=paths["onnx-fp16"])
    found = runner.precision(split.model_input(0, 16))
    assert found["executed_precision"] == "fp32", found
    assert "measured fp32" in found["precision_evidence"]
    assert ("DEQUANTIZEd" in found["precision_evidence"]) == (dtype == "fp16")


def test_litert_measurement_detects_fp16_compute(exports):
    """A runner whose outputs are fp16-computed (onnx's evaluator on the fp16 export) measures
    fp16: the measurement can fail the fp32 reading."""
    from amrcomp.runtimes import reference_predictor

    paths, split = exports
    runner = open_runner("litert", paths["tflite-fp16"], 1, fp16_reference=paths["onnx-fp16"])
    half = reference_predictor(paths["onnx-fp16"])
    frames = split.model_input(0, 16)
    runner.predict = half
    assert runner.precision(frames)["executed_precision"] == "fp16"


def test_litert_int8_model_is_int8(exports):
    paths, split = exports
    found = open_runner("litert", paths["tflite-int8"], 1).precision(split.model_input(0, 16))
    assert found["executed_precision"] == "int8", found


def test_benchmark_record_carries_the_executed_precision(exports, tmp_path):
    from amrcomp.atomic import read_json, write_json

    paths, split = exports
    settings = {
        **BENCH_SETTINGS,
        "batch_sizes": [4],
        "warmup": 1,
        "repeats": 2,
        "eval_batch_size": 16,
    }
    labels = {"model": "m", "variant": "baseline", "dtype": "fp16", "backend": "onnxruntime"}
    record = run_benchmark(
        lambda: open_runner("onnxruntime", paths["onnx-fp16"], 1),
        paths["onnx-fp16"],
        split,
        CLASSES,
        settings,
        labels,
    )
    assert record["executed_precision"] == "fp32" and record["dtype"] == "fp16"
    assert record["precision_evidence"].startswith("ONNX Runtime optimised graph:")
    write_json(tmp_path / "r.json", record)
    assert read_json(tmp_path / "r.json")["compute_ops"][0][1] == "fp32"


# ---------------------------------------------------------------- TensorRT engine layers


def layer(kind, fmt, name="conv", parameter=None):
    out = {"Name": name, "LayerType": kind, "Inputs": [{"Name": "x", "Format/Datatype": fmt}]}
    return out | ({"ParameterType": parameter} if parameter else {})


# Shapes of IEngineInspector JSON (DETAILED verbosity) from TensorRT 8.6-10.x.
TRT_INT8 = {
    "Layers": [
        layer("Reformat", "Row major linear FP32", "Reformatting CopyNode for Input Tensor 0"),
        layer("CaskConvolution", "Thirty-two wide channel vectorized row major Int8 format."),
        layer("CaskGemmConvolution", "Row major Int8 format", "dense", "Convolution"),
        layer("Reformat", "Row major Int8 format", "to float"),
    ],
    "Bindings": ["iq", "output"],
}
TRT_FP16 = {
    "Layers": [
        layer("CaskConvolution", "Channel major FP16 format where channel % 8 == 0"),
        layer("CaskGemmMatrixMultiply", "Half", "/dense1/MatMul"),
    ]
}
TRT_FP32 = {"Layers": [layer("CaskConvolution", "Float"), layer("gemm", "Row major linear FP32")]}


def test_tensorrt_layers_give_the_precision():
    assert precision.combine(precision.tensorrt_compute(TRT_INT8)) == "int8"
    assert precision.tensorrt_compute(TRT_INT8) == [
        ("CaskConvolution", "int8"),
        ("CaskGemmConvolution", "int8"),
    ]
    assert precision.combine(precision.tensorrt_compute(TRT_FP16)) == "fp16"
    assert precision.combine(precision.tensorrt_compute(TRT_FP32)) == "fp32"
    mixed = {"Layers": [*TRT_INT8["Layers"], *TRT_FP16["Layers"]]}
    assert precision.combine(precision.tensorrt_compute(mixed)) == "mixed"


def test_tensorrt_inconclusive_layers_are_unknown():
    dynamic = {"Layers": [layer("CaskConvolution", "N/A due to dynamic shapes")]}
    assert precision.tensorrt_compute(dynamic) == [("CaskConvolution", "unknown")]
    myelin = {"Layers": [layer("Myelin", "Row major linear FP16", "{ForeignNode[/MatMul]}")]}
    assert precision.tensorrt_compute(myelin) == [("Myelin", "unknown")]  # opaque inside
    names_only = {"Layers": ["conv1 + relu1", "dense1"]}  # built without DETAILED verbosity
    assert precision.combine(precision.tensorrt_compute(names_only)) == "unknown"
    assert precision.trt_format_precision("Row major linear BF16") == "unknown"
    with pytest.raises(ValueError, match="no 'Layers' list"):
        precision.tensorrt_compute({})


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["fp32", "fp16", "int8"])
def test_tensorrt_engine_reports_its_layer_precisions(exports, dtype, tmp_path):
    """On a GPU: an engine's layers never compute in a precision its strongly typed file lacks."""
    from amrcomp import gpu
    from amrcomp.bench import tensorrt as trt_bench

    try:
        gpu.require_tensorrt()
    except gpu.GpuUnavailable as err:
        pytest.skip(f"needs an NVIDIA GPU and tensorrt: {err}")
    paths, split = exports
    plan, _ = trt_bench.build_engine(paths[f"onnx-{dtype}"], [1, 8], 8, 256, 0)
    (tmp_path / "m.plan").write_bytes(plan)
    runner = trt_bench.TrtRunner(tmp_path / "m.plan", 0)
    try:
        found = runner.precision(split.model_input(0, 8))
    finally:
        runner.close()
    allowed = {"fp32": {"fp32"}, "fp16": {"fp16", "fp32"}, "int8": {"int8", "fp16", "fp32"}}
    assert {p for _, p in found["compute_ops"]} <= allowed[dtype] | {"unknown"}, found
    assert found["executed_precision"] in precision.PRECISIONS
