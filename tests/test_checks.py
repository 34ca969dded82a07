"""Checks that can fail: an export ONNX Runtime refuses is checked on onnx's reference evaluator
(or fails its rule), the tiny run's export acceptance is strict, and a LiteRT error counts as
"unsupported" only when it names the op and dtype LiteRT refuses."""

from __future__ import annotations

import numpy as np
import pytest

from amrcomp import tfsetup

tfsetup.configure(2, 0)

import onnx  # noqa: E402

from amrcomp import export  # noqa: E402
from amrcomp.atomic import read_json  # noqa: E402
from amrcomp.bench import open_runner, run_benchmark  # noqa: E402
from amrcomp.bench.litert import refusal  # noqa: E402
from amrcomp.frames import Split  # noqa: E402
from amrcomp.runtimes import BackendUnsupported  # noqa: E402
from amrcomp.settings import load_config  # noqa: E402
from conftest import BENCH_SETTINGS, TINY, l1_frames  # noqa: E402

CLASSES = [f"c{i}" for i in range(11)]
REFUSAL = "[ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : Could not find an implementation for Conv(11)"


@pytest.fixture(scope="module")
def model():
    from amrcomp.models import build_model

    tfsetup.configure(2, 0)
    m = build_model("oshea_cnn2", filters=(8, 8), dense_units=32)
    rng = np.random.default_rng(0)
    m.set_weights([w + rng.normal(0, 0.05, w.shape).astype(w.dtype) for w in m.get_weights()])
    return m


@pytest.fixture(scope="module")
def split() -> Split:
    return l1_frames(160, 3)


@pytest.fixture(scope="module")
def exported(model, split, tmp_path_factory):
    out = tmp_path_factory.mktemp("checks")
    paths = {d: out / f"m-{d}.onnx" for d in ("fp32", "fp16", "int8")}
    export.keras_to_onnx(model, paths["fp32"], 17)
    export.save_onnx(export.to_float16(onnx.load(str(paths["fp32"]))), paths["fp16"])
    export.quantize_int8(
        paths["fp32"], paths["int8"], split.model_input(0, 64), "minmax", "tensorrt", 16
    )
    return paths


@pytest.fixture()
def ort_refuses(monkeypatch):
    """ONNX Runtime's CPU provider refusing every file, as it refuses a kernel it lacks."""

    def refuse(path, threads):
        raise BackendUnsupported(REFUSAL)

    monkeypatch.setattr(export, "onnx_predictor", refuse)


# ---------------------------------------------------------------- (a) exports ORT refuses


@pytest.mark.parametrize("dtype", ["fp16", "int8"])
def test_refused_export_is_checked_on_the_reference_evaluator(
    model, split, exported, ort_refuses, dtype
):
    keras = lambda x: model(x, training=False).numpy()  # noqa: E731
    record = export.check_export(
        keras, exported[dtype], dtype, split.model_input(), 0.95, 1, labels=split.labels
    )
    assert record["status"] == "checked" and record["passed"] is True
    assert record["runtime"] == "onnx.reference.ReferenceEvaluator"
    assert record["onnxruntime_refusal"] == REFUSAL
    assert record["n_frames"] == export.REFERENCE_CHECK_FRAMES < len(split)
    assert record["max_abs_diff"] < {"fp16": 5e-3, "int8": 5e-2}[dtype]


def test_refused_export_that_differs_from_keras_fails_its_rule(model, split, exported, ort_refuses):
    shuffled = lambda x: np.roll(model(x, training=False).numpy(), 1, axis=1)  # noqa: E731
    with pytest.raises(
        export.ExportCheckFailed,
        match=r"int8 ONNX export differs .* on 128 test frames: class agreement 0.0000 < .*"
        r"checked on onnx's reference evaluator because ONNX Runtime refused the file",
    ):
        export.check_export(
            shuffled, exported["int8"], "int8", split.model_input(), 0.95, 1, margin=0.0
        )


def test_refused_export_the_evaluator_cannot_run_fails_its_rule(
    model, split, exported, ort_refuses, monkeypatch
):
    def broken(path):
        raise RuntimeError("No implementation for operator 'Foo'")

    monkeypatch.setattr(export, "reference_predictor", broken)
    keras = lambda x: model(x, training=False).numpy()  # noqa: E731
    with pytest.raises(
        export.ExportCheckFailed,
        match=r"fp16 ONNX export .* cannot be checked: ONNX Runtime refused it \(.*NOT_IMPLEMENTED"
        r".*\) and onnx's reference evaluator failed \(RuntimeError: No implementation",
    ):
        export.check_export(keras, exported["fp16"], "fp16", split.model_input(), 0.95, 1)


def test_fp32_export_must_run_on_onnxruntime(model, split, exported, ort_refuses):
    keras = lambda x: model(x, training=False).numpy()  # noqa: E731
    with pytest.raises(BackendUnsupported):
        export.check_export(keras, exported["fp32"], "fp32", split.model_input(), 0.95, 1)


def test_export_ort_runs_is_checked_on_onnxruntime(model, split, exported):
    keras = lambda x: model(x, training=False).numpy()  # noqa: E731
    record = export.check_export(keras, exported["int8"], "int8", split.model_input(), 0.95, 1)
    assert record["runtime"] == "onnxruntime (CPUExecutionProvider)"
    assert record["n_frames"] == len(split) and "onnxruntime_refusal" not in record


# ---------------------------------------------------------------- (b) tiny acceptance


def test_tiny_config_accepts_no_flipped_decisive_frame():
    """Every decisive frame must agree, at a margin a faithful export cannot close (see the
    comment in config/tiny.yaml); 0.5 let half of them flip."""
    deploy = load_config(TINY)["deploy"]
    assert deploy["agreement_min"] == 1.0
    assert deploy["agreement_margin"] < 0.1  # the default leaves a near-chance model none


@pytest.mark.e2e
def test_tiny_exports_pass_the_strict_check_on_decisive_frames(tiny_run):
    checks = [
        read_json(p)["check"] for p in sorted((tiny_run / "results/onnx").glob("*/*.check.json"))
    ]
    converted = [c for c in checks if "agreement_min" in c]  # fp16 and int8
    assert converted and all(c["status"] == "checked" and c["passed"] for c in converted)
    assert {c["agreement_min"] for c in converted} == {1.0}
    assert all(c["decisive_agreement"] in (None, 1.0) for c in converted)
    assert sum(c["decisive_frames"] for c in converted) > 0, "the check judged no frame"


# ---------------------------------------------------------------- (c) LiteRT refusals


@pytest.mark.parametrize(
    "message,expected",
    [
        (
            "tflite/kernels/fully_connected.cc:301 input->type != kTfLiteFloat32 "
            "(INT32 != FLOAT32)Node number 3 (FULLY_CONNECTED) failed to prepare.",
            {"op": "FULLY_CONNECTED", "dtype": "INT32"},
        ),
        (
            "tflite/kernels/add.cc:436 Type FLOAT16 (10) not supported.\n"
            "Node number 5 (ADD) failed to invoke.",
            {"op": "ADD", "dtype": "FLOAT16"},
        ),
        (
            "Type INT16 is not currently supported by Conv.Node number 0 (CONV_2D) failed to "
            "prepare.",
            {"op": "CONV_2D", "dtype": "INT16"},
        ),
        (
            "tflite/kernels/activations.cc:612 Only float32, uint8_t and int8_t supported "
            "currently, got INT64.Node number 6 (SOFTMAX) failed to prepare.",
            {"op": "SOFTMAX", "dtype": "INT64"},
        ),
        # named op, no refused dtype: a fault of the file or setup, not a runtime limitation
        (
            "tflite/kernels/conv.cc:378 input_type == kTfLiteFloat32 || input_type == "
            "kTfLiteUInt8 || input_type == kTfLiteInt8 || input_type == kTfLiteInt16 was not "
            "true.Node number 0 (CONV_2D) failed to prepare.",
            None,
        ),
        (
            "tflite/kernels/conv.cc:379 output->type != input_type (INT16 != FLOAT32)"
            "Node number 0 (CONV_2D) failed to prepare.",
            None,
        ),
        ("Didn't find op for builtin opcode 'CONV_2D' version '99'.", None),
        ("Encountered unresolved custom op: MyOp.Node number 2 (MyOp) failed to prepare.", None),
        ("failed to delegate RESHAPE node #2Node number 6 (TfLiteXNNPackDelegate) failed", None),
        # the old markers alone ("is not supported", "not implemented") name no pair
        ("Operation is not supported on this platform", None),
        ("Resize of a dynamic tensor is not implemented", None),
        ("Type FLOAT16 (10) not supported.", None),  # no op
    ],
)
def test_refusal_parses_the_op_and_dtype(message, expected):
    assert refusal(RuntimeError(message)) == expected


def patched_tflite(source, target, op_name: str, dtype: str, first_only: bool = False) -> None:
    """`source` with the data input and outputs of its first `op_name` op retyped to `dtype`:
    a file LiteRT refuses the way it refuses a real kernel gap."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(source.read_bytes(), 0))
    graph = model.subgraphs[0]
    op = next(
        o
        for o in graph.operators
        if model.operatorCodes[o.opcodeIndex].builtinCode
        == getattr(schema.BuiltinOperator, op_name)
    )
    tensors = [op.inputs[0]] if first_only else [op.inputs[0], *op.outputs]
    for t in tensors:
        graph.tensors[t].type = getattr(schema.TensorType, dtype)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    target.write_bytes(builder.Output())


@pytest.fixture(scope="module")
def tflite_fp32(model, tmp_path_factory):
    from amrcomp import tflite

    path = tmp_path_factory.mktemp("tflite") / "m-fp32.tflite"
    tflite.write_tflite(tflite.convert(model, "fp32"), path)
    return path


SETTINGS = {**BENCH_SETTINGS, "batch_sizes": [4], "warmup": 1, "repeats": 2, "eval_batch_size": 16}
LABELS = {"model": "m", "variant": "baseline", "dtype": "fp32", "backend": "litert"}


def test_named_refusal_is_recorded_unsupported_with_op_and_dtype(tflite_fp32, split, tmp_path):
    path = tmp_path / "int32-dense.tflite"
    patched_tflite(tflite_fp32, path, "FULLY_CONNECTED", "INT32")
    record = run_benchmark(
        lambda: open_runner("litert", path, 1), path, split, CLASSES, SETTINGS, LABELS
    )
    assert record["status"] == "unsupported"
    assert record["refused"] == {"op": "FULLY_CONNECTED", "dtype": "INT32"}
    assert record["executed_precision"] == "unknown" and record["throughput_fps"] is None
    assert record["precision_evidence"] == "not run: litert refused the model"


def test_unnamed_litert_error_fails_the_benchmark(tflite_fp32, split, tmp_path):
    path = tmp_path / "half-conv.tflite"
    patched_tflite(tflite_fp32, path, "CONV_2D", "FLOAT16", first_only=True)
    with pytest.raises(RuntimeError, match="was not true.*CONV_2D"):
        run_benchmark(
            lambda: open_runner("litert", path, 1), path, split, CLASSES, SETTINGS, LABELS
        )
