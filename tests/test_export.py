"""ONNX export: fp32 equivalence with Keras, fp16 types, QDQ int8 structure, the checks that fail
a rule, and conversions (fp16/int8) checked against the fp32 export without TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from amrcomp import tfsetup

tfsetup.configure(2, 0)

import onnx  # noqa: E402
from onnx import TensorProto, numpy_helper  # noqa: E402

from amrcomp import export  # noqa: E402
from amrcomp.atomic import write_json  # noqa: E402
from amrcomp.frames import Split, load_split, write_split  # noqa: E402
from amrcomp.models import build_model  # noqa: E402
from amrcomp.runtimes import onnx_predictor  # noqa: E402
from amrcomp.scoring import decode_classes, encode_classes  # noqa: E402
from conftest import ROOT, snakemake  # noqa: E402

N_FRAMES = 96


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    """Random frames (n, 2, 128, 1) with unit L1 norm per frame, like the data set's."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(N_FRAMES, 2, 128)).astype(np.float32)
    x /= np.abs(x).sum(axis=(1, 2), keepdims=True)
    return x[..., None]


@pytest.fixture(scope="module", params=["oshea_cnn2", "tekbiyik"])
def model(request):
    """Each architecture, narrowed to keep the suite fast, seeded random weights, nonzero biases."""
    tfsetup.configure(2, 0)
    small = {
        "oshea_cnn2": {"filters": (8, 8), "dense_units": 32},
        "tekbiyik": {"filters": (16, 8, 8, 8), "dense_units": 16},
    }
    m = build_model(request.param, **small[request.param])
    rng = np.random.default_rng(0)
    m.set_weights(
        [
            w + rng.normal(0, 0.05, w.shape).astype(w.dtype) if w.ndim == 1 else w
            for w in m.get_weights()
        ]
    )
    return m


@pytest.fixture(scope="module")
def keras_predict(model):
    return lambda x: model(x, training=False).numpy()


@pytest.fixture(scope="module")
def exported(model, frames, tmp_path_factory):
    """fp32, fp16 and both int8 schemes of one model."""
    out = tmp_path_factory.mktemp("onnx")
    paths = {"fp32": out / "m-fp32.onnx", "fp16": out / "m-fp16.onnx"}
    export.keras_to_onnx(model, paths["fp32"], opset=17)
    export.save_onnx(export.to_float16(onnx.load(str(paths["fp32"]))), paths["fp16"])
    for scheme in export.INT8_SCHEMES:
        paths[f"int8-{scheme}"] = out / f"m-int8-{scheme}.onnx"
        export.quantize_int8(
            paths["fp32"], paths[f"int8-{scheme}"], frames[:64], "minmax", scheme, batch_size=16
        )
    return paths


def initializer(model: onnx.ModelProto, name: str) -> np.ndarray:
    return next(numpy_helper.to_array(t) for t in model.graph.initializer if t.name == name)


def test_fp32_matches_keras(exported, keras_predict, frames):
    figures = export.compare(
        keras_predict, onnx_predictor(exported["fp32"], 2), frames, batch_size=40
    )
    assert figures["max_abs_diff"] < 1e-4
    assert figures["agreement"] == 1.0
    assert export.verdict("fp32", figures, 0.95)["passed"] is True


def test_fp32_has_iq_input_with_dynamic_batch(exported):
    graph = onnx.load(str(exported["fp32"])).graph
    (inp,) = graph.input
    dims = inp.type.tensor_type.shape.dim
    assert inp.name == "iq"
    assert not dims[0].HasField("dim_value") and [d.dim_value for d in dims[1:]] == [2, 128, 1]
    predict = onnx_predictor(exported["fp32"], 1)
    assert predict(np.zeros((1, 2, 128, 1), np.float32)).shape == (1, 11)
    assert predict(np.zeros((37, 2, 128, 1), np.float32)).shape == (37, 11)


def test_fp32_check_fails_with_numbers(keras_predict, frames):
    drifted = lambda x: keras_predict(x) + 3e-4  # noqa: E731
    figures = export.compare(keras_predict, drifted, frames)
    with pytest.raises(
        export.ExportCheckFailed,
        match=r"fp32 ONNX export differs .* 96 test frames: max \|softmax diff\| 0.0003 >= 0.0001",
    ):
        export.verdict("fp32", figures, 0.95)


def test_agreement_check_fails_with_numbers(keras_predict, frames):
    shuffled = lambda x: np.roll(keras_predict(x), 1, axis=1)  # noqa: E731 - every argmax moves
    figures = export.compare(keras_predict, shuffled, frames, margin=0.0)
    assert figures["agreement"] == 0.0 and figures["decisive_frames"] == len(frames)
    with pytest.raises(
        export.ExportCheckFailed,
        match=r"int8 .* class agreement 0.0000 < deploy.agreement_min 0.95 on the 96 frames",
    ):
        export.verdict("int8", figures, 0.95)


def _scores(rows: list[list[float]]):
    table = np.asarray(rows, dtype=np.float64)
    return lambda x: table[x[:, 0].astype(int)]  # frame i -> row i


def test_near_ties_may_flip_but_decisive_frames_may_not():
    """A weak classifier's near-ties flip under any rounding; only decisive frames judge exports."""
    frames = np.arange(4, dtype=np.float32)[:, None]
    keras = _scores([[0.50, 0.48, 0.02], [0.34, 0.33, 0.33], [0.9, 0.05, 0.05], [0.1, 0.8, 0.1]])
    ties_flipped = _scores(
        [[0.48, 0.50, 0.02], [0.33, 0.34, 0.33], [0.88, 0.06, 0.06], [0.1, 0.79, 0.11]]
    )
    figures = export.compare(keras, ties_flipped, frames, margin=0.1)
    assert (figures["agreement"], figures["decisive_frames"], figures["decisive_agreement"]) == (
        0.5,
        2,
        1.0,
    )
    assert export.verdict("int8", figures, 0.95)["passed"] is True
    decisive_flipped = _scores(
        [[0.50, 0.48, 0.02], [0.34, 0.33, 0.33], [0.3, 0.6, 0.1], [0.1, 0.8, 0.1]]
    )
    figures = export.compare(keras, decisive_flipped, frames, margin=0.1)
    assert figures["agreement"] == 0.75 and figures["decisive_agreement"] == 0.5
    with pytest.raises(
        export.ExportCheckFailed,
        match=r"agreement 0.5000 < deploy.agreement_min 0.95 on the 2 frames where Keras' top-1 "
        r"leads by >= 0.1",
    ):
        export.verdict("int8", figures, 0.95)


def test_accuracy_drop_check_fails_with_numbers():
    frames = np.arange(4, dtype=np.float32)[:, None]
    keras = _scores([[0.50, 0.48, 0.02], [0.48, 0.50, 0.02], [0.9, 0.05, 0.05], [0.1, 0.8, 0.1]])
    worse = _scores([[0.48, 0.50, 0.02], [0.50, 0.48, 0.02], [0.9, 0.05, 0.05], [0.1, 0.8, 0.1]])
    figures = export.compare(keras, worse, frames, labels=np.array([0, 0, 0, 1]), margin=0.1)
    assert (figures["reference_accuracy"], figures["accuracy"], figures["accuracy_drop"]) == (
        0.75,
        0.75,
        0.0,
    )
    assert export.verdict("fp16", figures, 0.95, accuracy_drop_max=0.02)["passed"] is True
    figures = export.compare(keras, worse, frames, labels=np.array([0, 1, 0, 1]), margin=0.1)
    assert figures["accuracy_drop"] == 0.5
    with pytest.raises(
        export.ExportCheckFailed,
        match=r"fp16 .* accuracy 0.5000 vs Keras 1.0000, a drop of 0.5000 > "
        r"deploy.accuracy_drop_max 0.02",
    ):
        export.verdict("fp16", figures, 0.95, accuracy_drop_max=0.02)


def test_fp16_weights_are_half_and_io_stays_float(exported):
    proto = onnx.load(str(exported["fp16"]))
    graph = proto.graph
    float_types = {t.data_type for t in graph.initializer} & {
        TensorProto.FLOAT,
        TensorProto.FLOAT16,
    }
    assert float_types == {TensorProto.FLOAT16}
    assert [i.type.tensor_type.elem_type for i in graph.input] == [TensorProto.FLOAT]
    assert [o.type.tensor_type.elem_type for o in graph.output] == [TensorProto.FLOAT]
    first, last = graph.node[0], graph.node[-1]
    assert (first.op_type, first.input[0]) == ("Cast", "iq")
    assert last.op_type == "Cast" and last.output[0] == graph.output[0].name
    # internal tensors are float16 after re-inference
    internal = {v.type.tensor_type.elem_type for v in graph.value_info}
    assert TensorProto.FLOAT not in internal and TensorProto.FLOAT16 in internal


def test_fp16_matches_keras_closely(exported, keras_predict, frames):
    figures = export.compare(keras_predict, onnx_predictor(exported["fp16"], 2), frames)
    assert figures["max_abs_diff"] < 5e-3
    assert export.verdict("fp16", figures, 0.9)["passed"] is True


def test_int8_is_qdq_with_per_channel_weights(exported, model):
    for scheme in export.INT8_SCHEMES:
        proto = onnx.load(str(exported[f"int8-{scheme}"]))
        ops = [n.op_type for n in proto.graph.node]
        assert ops.count("QuantizeLinear") >= 3 and ops.count("DequantizeLinear") >= 6, (
            scheme,
            ops,
        )
        assert "Conv" in ops and ({"MatMul", "Gemm"} & set(ops))
        conv = next(n for n in proto.graph.node if n.op_type == "Conv")
        weight_dq = next(n for n in proto.graph.node if n.output[0] == conv.input[1])
        assert weight_dq.op_type == "DequantizeLinear"
        assert initializer(proto, weight_dq.input[0]).dtype == np.int8
        n_filters = model.get_layer("conv1").filters
        assert initializer(proto, weight_dq.input[1]).shape == (
            n_filters,
        )  # one scale per output channel


def test_int8_schemes_differ_as_backends_need(exported):
    def activation_zero_points(path):
        proto = onnx.load(str(path))
        return [
            initializer(proto, n.input[2])
            for n in proto.graph.node
            if n.op_type == "QuantizeLinear"
        ]

    def bias_dq_types(path):
        proto = onnx.load(str(path))
        inits = {t.name: t.data_type for t in proto.graph.initializer}
        return {
            inits[n.input[0]]
            for n in proto.graph.node
            if n.op_type == "DequantizeLinear" and n.input[0] in inits
        }

    trt = activation_zero_points(exported["int8-tensorrt"])
    assert all(z.dtype == np.int8 and np.all(z == 0) for z in trt)  # symmetric int8 activations
    assert TensorProto.INT32 not in bias_dq_types(exported["int8-tensorrt"])  # float biases
    ort = activation_zero_points(exported["int8-onnxruntime"])
    assert all(z.dtype == np.uint8 for z in ort)
    assert TensorProto.INT32 in bias_dq_types(exported["int8-onnxruntime"])


def test_int8_runs_and_mostly_agrees(exported, keras_predict, frames):
    for scheme in export.INT8_SCHEMES:
        figures = export.compare(
            keras_predict, onnx_predictor(exported[f"int8-{scheme}"], 2), frames
        )
        assert figures["agreement"] >= 0.8, (scheme, figures)
        assert figures["max_abs_diff"] > 0  # quantised: not bit-identical


def test_check_export_of_a_file_ort_refuses_runs_on_the_reference_evaluator(
    tmp_path, keras_predict, frames
):
    """A dtype ORT's CPU provider cannot run is checked on onnx's reference evaluator (fp16/int8)
    and fails like any other export that does not reproduce its reference; fp32 must run on ORT."""
    from onnx import helper

    node = helper.make_node("Conv", ["x", "w"], ["y"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 1, 3, 3])],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)],
        [numpy_helper.from_array(np.ones((1, 1, 1, 1)), "w")],
    )
    path = tmp_path / "double.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    with pytest.raises(export.ExportCheckFailed, match="ONNX Runtime refused it .*NOT_IMPLEMENTED"):
        export.check_export(keras_predict, path, "fp16", frames, 0.95, 1)
    from amrcomp.runtimes import BackendUnsupported

    with pytest.raises(BackendUnsupported):
        export.check_export(keras_predict, path, "fp32", frames, 0.95, 1)


def test_calibration_frames_are_seeded_and_bounded():
    x = np.arange(50 * 2 * 4, dtype=np.float32).reshape(50, 2, 4)
    a, b = export.calibration_frames(x, 10, 7), export.calibration_frames(x, 10, 7)
    assert a.shape == (10, 2, 4, 1) and np.array_equal(a, b)
    assert not np.array_equal(a, export.calibration_frames(x, 10, 8))
    assert export.calibration_frames(x, 500, 7).shape[0] == 50
    with pytest.raises(ValueError, match="training split is empty"):
        export.calibration_frames(x[:0], 10, 7)


def test_bad_calibration_method_is_named(exported, frames, tmp_path):
    with pytest.raises(ValueError, match="deploy.calibration.method: unknown 'kl'"):
        export.quantize_int8(exported["fp32"], tmp_path / "x.onnx", frames, "kl", "onnxruntime")


@pytest.mark.parametrize("method", ["entropy", "percentile"])
def test_histogram_calibration_methods(exported, keras_predict, frames, tmp_path, method):
    path = tmp_path / f"{method}.onnx"
    settings = export.quantize_int8(
        exported["fp32"], path, frames[:32], method, "onnxruntime", batch_size=16
    )
    assert settings["calibration_method"] == method and settings["calibration_frames"] == 32
    figures = export.compare(keras_predict, onnx_predictor(path, 1), frames)
    assert figures["agreement"] >= 0.5 and "QuantizeLinear" in export.op_counts(path)


# ---------------------------------------------------------------- conversions: no TensorFlow

# margin 0: a random-weight model leads by less than 0.1, so every frame must count as decisive
CHECK = {"agreement_min": 0.5, "margin": 0.0, "accuracy_drop_max": 0.25}
SETTINGS = {"opset": 17, "check": CHECK, "batch_size": 40}
CALIBRATION = {"method": "minmax", "frames": 32, "seed": 0}
TF_MODULES = (
    "tensorflow",
    "tf_keras",
    "keras",
    "tf2onnx",
    "qkeras",
    "tensorflow_model_optimization",
)


@pytest.fixture(scope="module")
def data_dir(frames, tmp_path_factory):
    """Test and training splits of the random frames, as the data rule stores them."""
    out = tmp_path_factory.mktemp("data")
    labels = np.random.default_rng(5).integers(0, 11, len(frames))
    split = Split(x=frames[..., 0], labels=labels, snr=np.zeros(len(frames), np.int64))
    for name in ("test", "train"):
        write_split(out, name, split)
    write_json(out / "manifest.json", {"classes": [f"c{i}" for i in range(11)]})
    return out


@pytest.fixture(scope="module")
def relabelled_fp32(exported, tmp_path_factory):
    """The fp32 export with its output classes rotated by one (the output layer's weight columns
    and bias rolled): a valid fp32 file whose every decisive class differs from the Keras model's.
    """
    proto = onnx.load(str(exported["fp32"]))
    graph = proto.graph
    inits = {t.name: t for t in graph.initializer}
    tensor = next(n for n in graph.node if n.op_type == "Softmax").input[0]
    while True:  # tf2onnx: Dense(softmax) -> MatMul [-> Add bias] -> Softmax
        node = next(n for n in graph.node if tensor in n.output)
        assert node.op_type in ("Add", "MatMul"), node.op_type
        for name in (i for i in node.input if i in inits):
            rolled = np.roll(numpy_helper.to_array(inits[name]), 1, axis=-1)
            inits[name].CopyFrom(numpy_helper.from_array(rolled, name))
        if node.op_type == "MatMul":
            break
        tensor = next(i for i in node.input if i not in inits)
    path = tmp_path_factory.mktemp("relabelled") / "m-fp32.onnx"
    export.save_onnx(proto, path)
    return path


@pytest.mark.parametrize("dtype", ["fp16", "int8"])
def test_conversion_is_checked_against_the_fp32_export(
    relabelled_fp32, keras_predict, data_dir, tmp_path, dtype
):
    """The check compares the converted file with the fp32 export it was made from, on ONNX
    Runtime, frame for frame, and the record says so. The fp32 file here disagrees with Keras
    on every decisive frame, so a check against Keras would fail the conversion."""
    out = tmp_path / f"m-{dtype}.onnx"
    record = export.export_checked(
        dtype, relabelled_fp32, out, data_dir, SETTINGS, 1, CALIBRATION, "onnxruntime"
    )
    check = record["check"]
    assert record["source"] == str(relabelled_fp32) and out.exists() and check["passed"]
    assert check["reference"] == export.FP32_ONNX == "the fp32 ONNX export"
    assert check["reference_runtime"] == check["runtime"] == export.ORT_CPU
    test = load_split(data_dir, "test")
    frames, labels = test.model_input(), test.labels
    fp32, converted = onnx_predictor(relabelled_fp32, 1), onnx_predictor(out, 1)
    expected = export.compare(fp32, converted, frames, 40, labels, CHECK["margin"])
    predicted = expected.pop("predicted_classes")
    assert {k: check[k] for k in expected} == expected and check["max_abs_diff"] > 0
    # the file's evaluation on ONNX Runtime, which its benchmark row reuses
    evaluation = record["evaluation"]
    assert evaluation["predicted"] == encode_classes(predicted) and evaluation["threads"] == 1
    assert evaluation["accuracy"] == expected["accuracy"] == np.mean(predicted == labels)
    against_keras = export.compare(keras_predict, converted, frames, margin=CHECK["margin"])
    assert against_keras["decisive_frames"] > 0 and against_keras["decisive_agreement"] == 0.0


def test_exports_are_checked_against_their_sources_stored_scores(model, data_dir, tmp_path):
    """Each source's scores of the test split are stored by the job that computed them: the
    Keras model's by its evaluation, the fp32 export's by its check. The fp32 export is checked
    against the former, fp16 and int8 against the latter, with the figures a fresh run of the
    source gives; scores of other frames are refused before a converted file is kept."""
    from amrcomp.evaluate import keras_record
    from amrcomp.models.io import save_model

    save_model(model, tmp_path / "m.keras")
    test = load_split(data_dir, "test")
    record, keras_scores = keras_record(str(tmp_path / "m.keras"), test, ["c"] * 11, 40)
    assert keras_scores.dtype == np.float32 and len(keras_scores) == len(test)
    assert np.array_equal(keras_scores.argmax(1), decode_classes(record["predicted"]))
    np.save(tmp_path / "keras.npy", keras_scores)
    fp32, scores = tmp_path / "m-fp32.onnx", tmp_path / "m-fp32.scores.npy"
    checks = [
        export.export_checked(
            "fp32", tmp_path / "m.keras", fp32, data_dir, SETTINGS, 1, scores_out=scores,
            reference_scores=stored,
        )["check"]
        for stored in (None, tmp_path / "keras.npy")
    ]  # fmt: skip
    assert checks[1].pop("reference_scores") == str(tmp_path / "keras.npy")
    assert checks[1].pop("max_abs_diff") == pytest.approx(checks[0].pop("max_abs_diff"), abs=1e-6)
    assert checks[0].pop("reference_scores") is None and checks[0] == checks[1]
    frames = load_split(data_dir, "test").model_input()
    assert np.load(scores).shape == (len(frames), 11) and np.load(scores).dtype == np.float32
    assert np.allclose(np.load(scores), onnx_predictor(fp32, 1)(frames), atol=1e-6)
    for dtype in ("fp16", "int8"):
        made = [
            export.export_checked(
                dtype, fp32, tmp_path / f"{dtype}-{i}.onnx", data_dir, SETTINGS, 1, CALIBRATION,
                "onnxruntime", reference_scores=stored,
            )["check"]
            for i, stored in enumerate([None, scores])
        ]  # fmt: skip
        assert (
            made[1].pop("reference_scores") == str(scores)
            and made[0].pop("reference_scores") is None
        )
        assert made[0] == made[1]
    np.save(scores, np.load(scores)[:-1])
    with pytest.raises(ValueError, match=f"{len(frames) - 1} reference scores for {len(frames)}"):
        export.export_checked(
            "fp16", fp32, tmp_path / "other.onnx", data_dir, SETTINGS, 1, reference_scores=scores
        )
    assert not (tmp_path / "other.onnx").exists()


def test_conversion_failures_name_the_fp32_export():
    frames = np.arange(2, dtype=np.float32)[:, None]
    fp32 = _scores([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1]])
    shuffled = _scores([[0.05, 0.9, 0.05], [0.8, 0.1, 0.1]])
    figures = export.compare(fp32, shuffled, frames, labels=np.array([0, 1]), margin=0.1)
    with pytest.raises(
        export.ExportCheckFailed,
        match=r"int8 ONNX export differs from the fp32 ONNX export on 2 test frames: class "
        r"agreement 0.0000 .* where the fp32 ONNX export's top-1 leads by >= 0.1; accuracy "
        r"0.0000 vs the fp32 ONNX export 1.0000",
    ):
        export.verdict("int8", figures, 0.95, 0.02, reference_name=export.FP32_ONNX)


@pytest.mark.parametrize("dtype", ["fp16", "int8"])
def test_convert_onnx_job_never_imports_tensorflow(exported, data_dir, tmp_path, dtype):
    """The rule script, run as Snakemake runs it (a fresh interpreter) on convert_onnx's inputs:
    no Keras model among them, and no TensorFlow (seconds of start-up per job) in the process."""
    out, scores = tmp_path / "out", tmp_path / "fp32.scores.npy"  # as its export job stored them
    np.save(scores, onnx_predictor(exported["fp32"], 1)(load_split(data_dir, "test").model_input()))
    code = f"""
import json, runpy, sys
sys.path.insert(0, {str(ROOT / "workflow")!r})

class Named(dict):
    __getattr__ = dict.__getitem__

snakemake = Named(
    wildcards=Named(model="m", variant="baseline", dtype={dtype!r}),
    input=Named(fp32={str(exported["fp32"])!r}, fp32_scores={str(scores)!r}, test=[]),
    output=Named(onnx={str(out / "m.onnx")!r}, check={str(out / "m.check.json")!r}),
    params=Named(
        data_dir={str(data_dir)!r}, settings={SETTINGS!r}, calibration={CALIBRATION!r},
        int8_scheme="onnxruntime",
    ),
    log=[{str(out / "m.log")!r}],
    threads=1,
    rule="convert_onnx",
)
runpy.run_path({str(ROOT / "workflow/scripts/export.py")!r}, {{"snakemake": snakemake}})
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {TF_MODULES!r})))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.splitlines()[-1]) == [], "convert_onnx imported TensorFlow"
    record = json.loads((out / "m.check.json").read_text())
    assert record["check"]["reference"] == export.FP32_ONNX and record["check"]["passed"]
    assert record["check"]["reference_scores"] == str(scores)
    assert record["source"] == str(exported["fp32"]) and (out / "m.onnx").exists()


def test_convert_onnx_rule_takes_no_keras_model(tmp_path):
    """The conversions' inputs are the fp32 export and the data, not the .keras file: a
    retrained-but-identical Keras model re-runs export_onnx only, and no TensorFlow is needed."""
    target = "results/onnx/model1/magnitude-50-int8.onnx"
    proc = snakemake(tmp_path / "run", "-n", "--", target)
    block = proc.stdout.split("rule convert_onnx:", 1)[1].split("\n\n", 1)[0]
    inputs = next(line for line in block.splitlines() if line.strip().startswith("input:"))
    assert "results/onnx/model1/magnitude-50-fp32.onnx" in inputs and ".keras" not in inputs
