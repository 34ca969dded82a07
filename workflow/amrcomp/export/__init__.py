"""Keras -> ONNX in the three deployed precisions, and the checks that each file computes what
its source does.

- fp32: tf2onnx from the (stripped) tf_keras model, dynamic batch, input named "iq".
- fp16: float16 weights and compute with float32 graph inputs/outputs (Cast nodes at both ends),
  the form TensorRT's strongly typed networks take FP16 from; converted by onnxruntime's
  float16 pass.
- int8: QDQ model from static calibration on training frames (onnxruntime.quantization). Two
  schemes, because the consumers disagree: ONNX Runtime's x86 fast path is uint8 asymmetric
  activations with int32 biases (U8S8), while TensorRT accepts only symmetric int8 activations
  and rejects DequantizeLinear on int32 biases ("only activation types allowed as input").

Each file is checked against the file it was made from: fp32 against the Keras model (the only
step that imports TensorFlow), fp16 and int8 against that checked fp32 export on ONNX Runtime,
so the chain stays anchored to Keras while the conversions never start TensorFlow. An export
whose outputs drift from its source must fail its rule, not reach a benchmark table.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from amrcomp.atomic import atomic_path
from amrcomp.frames import Split, draw_indices, load_split, read_manifest
from amrcomp.runtimes import BackendUnsupported, onnx_predictor, reference_predictor
from amrcomp.scoring import summarise

if TYPE_CHECKING:
    import onnx

INPUT_NAME = "iq"
FP32_MAX_ABS_DIFF = 1e-4
INT8_SCHEMES = {
    # activations, symmetric activations, quantised (int32) biases
    "onnxruntime": {"activation": "uint8", "activation_symmetric": False, "quantize_bias": True},
    "tensorrt": {"activation": "int8", "activation_symmetric": True, "quantize_bias": False},
}
CALIBRATION_METHODS = ("minmax", "entropy", "percentile")
# Test frames checked on onnx's reference evaluator when ONNX Runtime refuses an export (numpy,
# about 0.75 s per Model 2 frame in float16): a seeded draw, so every label and SNR can appear;
# 128 frames resolve an accuracy drop of 0.02 to about 2.5 frames.
REFERENCE_CHECK_FRAMES = 128
REFERENCE_CHECK_SEED = 0
# What each dtype is checked against (the "reference" of its check record).
KERAS = "Keras"
FP32_ONNX = "the fp32 ONNX export"
ORT_CPU = "onnxruntime (CPUExecutionProvider)"


class ExportCheckFailed(RuntimeError):
    """An exported model does not reproduce its source within the configured tolerance."""


def keras_to_onnx(model, path: str | Path, opset: int) -> None:
    """Convert a tf_keras model to ONNX with a dynamic batch dimension and input name "iq"."""
    import onnx
    import tensorflow as tf
    import tf2onnx

    frame_shape = tuple(model.input_shape[1:])
    signature = (tf.TensorSpec((None, *frame_shape), tf.float32, name=INPUT_NAME),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=int(opset))
    names = [i.name for i in proto.graph.input]
    if names != [INPUT_NAME]:
        raise ValueError(
            f"tf2onnx produced graph inputs {names}; expected exactly [{INPUT_NAME!r}] "
            "(is the Keras input layer named 'iq'?)"
        )
    onnx.checker.check_model(proto, full_check=True)
    save_onnx(proto, path)


def save_onnx(proto: onnx.ModelProto, path: str | Path) -> None:
    """Store an ONNX model atomically (a killed job leaves no half-written file)."""
    import onnx

    with atomic_path(path, suffix=".onnx") as tmp:
        onnx.save(proto, str(tmp))


def to_float16(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Float16 weights and compute, float32 graph inputs and outputs (a Cast at each end).

    onnxruntime's own converter (`keep_io_types=True`) appends its input/output Casts after the
    existing nodes, which the ONNX checker rejects as not topologically sorted; ORT's
    `OnnxModel.topological_sort` restores the order. The full check re-infers every type, so an
    op that cannot take float16 fails here, naming the node, rather than in a benchmark.
    """
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16
    from onnxruntime.transformers.onnx_model import OnnxModel

    half = OnnxModel(convert_float_to_float16(proto, keep_io_types=True))
    half.topological_sort()
    onnx.checker.check_model(half.model, full_check=True)
    return half.model


class _FrameReader:
    """CalibrationDataReader over an in-memory array, in fixed-size batches."""

    def __init__(self, frames: np.ndarray, batch_size: int):
        self.batches = [frames[i : i + batch_size] for i in range(0, len(frames), batch_size)]
        self.index = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self.index >= len(self.batches):
            return None
        self.index += 1
        return {INPUT_NAME: self.batches[self.index - 1]}

    def rewind(self) -> None:
        self.index = 0


def calibration_frames(train_x: np.ndarray, n: int, seed: int) -> np.ndarray:
    """`n` training frames of a seeded draw (`frames.draw_indices`), as (n, 2, L, 1) float32."""
    if len(train_x) == 0:
        raise ValueError("the training split is empty: no frames to calibrate int8 on")
    index = draw_indices(len(train_x), int(n), seed)
    return np.asarray(train_x[index], dtype=np.float32)[..., None]


def quantize_int8(
    fp32_path: str | Path,
    out_path: str | Path,
    frames: np.ndarray,
    method: str,
    scheme: str,
    batch_size: int = 64,
) -> dict[str, Any]:
    """Write a QDQ int8 model calibrated on `frames`; return the settings used (check record)."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if method not in CALIBRATION_METHODS:
        raise ValueError(
            f"deploy.calibration.method: unknown {method!r}; expected one of {CALIBRATION_METHODS}"
        )
    if scheme not in INT8_SCHEMES:
        raise ValueError(f"unknown int8 scheme {scheme!r}; expected one of {sorted(INT8_SCHEMES)}")
    settings = INT8_SCHEMES[scheme]
    calibrate = {
        "minmax": CalibrationMethod.MinMax,
        "entropy": CalibrationMethod.Entropy,
        "percentile": CalibrationMethod.Percentile,
    }[method]
    activation = QuantType.QUInt8 if settings["activation"] == "uint8" else QuantType.QInt8
    extra = {
        "ActivationSymmetric": settings["activation_symmetric"],
        "WeightSymmetric": True,
        "QuantizeBias": settings["quantize_bias"],
    }
    with tempfile.TemporaryDirectory(prefix="amrcomp-int8-") as tmp_dir:
        pre = Path(tmp_dir) / "pre.onnx"
        # Symbolic shape inference needs sympy (not installed); ONNX shape inference covers these
        # static CNNs.
        quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
        # The softmax stays float: 8-bit probabilities tie on confident or near-uniform outputs and
        # flip the argmax.
        softmax = [n.name for n in onnx.load(str(pre)).graph.node if n.op_type == "Softmax"]
        with atomic_path(out_path, suffix=".onnx") as tmp:
            quantize_static(
                str(pre),
                str(tmp),
                _FrameReader(frames, batch_size),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=activation,
                weight_type=QuantType.QInt8,
                calibrate_method=calibrate,
                extra_options=extra,
                nodes_to_exclude=softmax,
            )
    return {
        "format": "QDQ",
        "scheme": scheme,
        "float_nodes": softmax,
        "per_channel": True,
        "weights": "int8",
        "weight_symmetric": True,
        "calibration_method": method,
        "calibration_frames": int(len(frames)),
        **settings,
    }


def op_counts(path: str | Path) -> dict[str, int]:
    """Operator histogram of an ONNX file (shows the QDQ nodes and Casts an export added)."""
    import onnx

    counts: dict[str, int] = {}
    for node in onnx.load(str(path)).graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return dict(sorted(counts.items()))


Reference = Callable[[np.ndarray], np.ndarray] | np.ndarray  # a predictor, or its scores


def compare(
    reference: Reference,
    candidate: Callable[[np.ndarray], np.ndarray],
    frames: np.ndarray,
    batch_size: int = 1024,
    labels: np.ndarray | None = None,
    margin: float = 0.1,
    reference_name: str = KERAS,
    keep_scores: bool = False,
) -> dict[str, Any]:
    """How closely a candidate predictor follows a reference on the same frames.

    Max |softmax difference| and class agreement over all frames, and class agreement over the
    *decisive* frames, where the reference's top-1 score beats its top-2 by at least `margin`:
    a weak classifier (low-SNR frames) has many near-ties whose argmax any rounding flips, so
    only decisive frames tell a faithful quantised export from a broken one. With `labels`,
    also both accuracies, the candidate's accuracy drop and its class per frame
    (`predicted_classes`, an array: the evaluation the export's benchmark reuses).
    `reference` is a predictor or its scores of `frames`, computed before (the fp32 export's,
    which fp16 and int8 are checked against); `keep_scores` returns the candidate's (`scores`).
    """
    if len(frames) == 0:
        raise ValueError("no frames to compare the export on (empty test split)")
    if not callable(reference) and len(reference) != len(frames):
        raise ValueError(f"{len(reference)} reference scores for {len(frames)} frames")
    max_diff, agree, decisive, decisive_agree, ref_hits, hits = 0.0, 0, 0, 0, 0, 0
    predicted, kept = np.empty(len(frames), dtype=np.int64), []
    for start in range(0, len(frames), batch_size):
        batch = frames[start : start + batch_size]
        ref = reference(batch) if callable(reference) else reference[start : start + len(batch)]
        ref, scores = np.asarray(ref, dtype=np.float64), candidate(batch)
        got = np.asarray(scores, dtype=np.float64)
        if keep_scores:
            kept.append(np.asarray(scores, dtype=np.float32))
        if ref.shape != got.shape:
            raise ExportCheckFailed(
                f"export returns scores of shape {got.shape}; {reference_name} returns {ref.shape}"
            )
        max_diff = max(max_diff, float(np.abs(ref - got).max()))
        predicted[start : start + len(got)] = got.argmax(1)
        same = ref.argmax(1) == got.argmax(1)
        top2 = np.sort(ref, axis=1)[:, -2:]
        sure = (top2[:, 1] - top2[:, 0]) >= margin
        agree, decisive, decisive_agree = (
            agree + int(same.sum()),
            decisive + int(sure.sum()),
            decisive_agree + int((same & sure).sum()),
        )
        if labels is not None:
            truth = np.asarray(labels[start : start + batch_size])
            ref_hits, hits = (
                ref_hits + int((ref.argmax(1) == truth).sum()),
                hits + int((got.argmax(1) == truth).sum()),
            )
    figures = {
        "n_frames": int(len(frames)),
        "max_abs_diff": max_diff,
        "agreement": agree / len(frames),
        "margin": float(margin),
        "decisive_frames": decisive,
        "decisive_agreement": decisive_agree / decisive if decisive else None,
    }
    if labels is not None:
        figures.update(
            reference_accuracy=ref_hits / len(frames),
            accuracy=hits / len(frames),
            accuracy_drop=(ref_hits - hits) / len(frames),
            predicted_classes=predicted,
        )
    if keep_scores:
        figures["scores"] = np.concatenate(kept)
    return figures


def verdict(
    dtype: str,
    figures: dict[str, Any],
    agreement_min: float,
    accuracy_drop_max: float | None = None,
    reference_name: str = KERAS,
) -> dict[str, Any]:
    """Apply the acceptance rule for a dtype; raise ExportCheckFailed with the numbers if it fails.

    fp32 must reproduce Keras' scores; fp16/int8 must agree with their reference (the fp32
    export) on the decisive frames and (when labels were compared) lose at most
    `accuracy_drop_max` accuracy. `reference_name` names the reference in the messages.
    """
    owner = f"{reference_name}'" if reference_name.endswith("s") else f"{reference_name}'s"
    if dtype == "fp32":
        criterion = {"max_abs_diff_below": FP32_MAX_ABS_DIFF}
        problems = (
            [f"max |softmax diff| {figures['max_abs_diff']:.3g} >= {FP32_MAX_ABS_DIFF:g}"]
            if figures["max_abs_diff"] >= FP32_MAX_ABS_DIFF
            else []
        )
    else:
        criterion = {"agreement_min": float(agreement_min), "accuracy_drop_max": accuracy_drop_max}
        problems = []
        decisive = figures["decisive_agreement"]
        if decisive is not None and decisive < agreement_min:
            problems.append(
                f"class agreement {decisive:.4f} < deploy.agreement_min {agreement_min} on the "
                f"{figures['decisive_frames']} frames where {owner} top-1 leads by "
                f">= {figures['margin']:g}"
            )
        drop = figures.get("accuracy_drop")
        if accuracy_drop_max is not None and drop is not None and drop > accuracy_drop_max:
            problems.append(
                f"accuracy {figures['accuracy']:.4f} vs {reference_name} "
                f"{figures['reference_accuracy']:.4f}, a drop of {drop:.4f} > "
                f"deploy.accuracy_drop_max {accuracy_drop_max}"
            )
    if problems:
        raise ExportCheckFailed(
            f"{dtype} ONNX export differs from {reference_name} on {figures['n_frames']} test "
            f"frames: {'; '.join(problems)} (max |softmax diff| {figures['max_abs_diff']:.3g}, "
            f"agreement on all frames {figures['agreement']:.4f})"
        )
    return {**figures, **criterion, "passed": True}


def check_export(
    reference_predict: Reference,
    onnx_path: str | Path,
    dtype: str,
    frames: np.ndarray,
    agreement_min: float,
    threads: int,
    batch_size: int = 1024,
    labels: np.ndarray | None = None,
    margin: float = 0.1,
    accuracy_drop_max: float | None = None,
    reference_name: str = KERAS,
    keep_scores: bool = False,
) -> dict[str, Any]:
    """Run the export on ONNX Runtime's CPU provider beside its reference and apply `verdict`.

    `reference_predict` computes the scores the export must reproduce (Keras for fp32, the fp32
    export on ONNX Runtime for fp16/int8), `reference_name` names it in the record and messages.
    If ONNX Runtime has no CPU kernel for the fp16/int8 graph, the same comparison and verdict
    run on onnx's reference evaluator over a seeded draw of `REFERENCE_CHECK_FRAMES` frames,
    so no file reaches TensorRT unchecked; if that evaluator cannot run it either, the check
    fails. fp32 must always run on ONNX Runtime. `keep_scores`: see `compare`.
    """
    try:
        candidate = onnx_predictor(onnx_path, threads)
        figures = compare(
            reference_predict,
            candidate,
            frames,
            batch_size,
            labels,
            margin,
            reference_name,
            keep_scores,
        )
    except BackendUnsupported as err:
        if dtype == "fp32":
            raise
        return reference_check(
            reference_predict,
            onnx_path,
            dtype,
            frames,
            str(err),
            agreement_min,
            labels,
            margin,
            accuracy_drop_max,
            reference_name,
        )
    checked = verdict(dtype, figures, agreement_min, accuracy_drop_max, reference_name)
    return {"status": "checked", "runtime": ORT_CPU, "reference": reference_name, **checked}


def reference_check(
    reference_predict: Reference,
    onnx_path: str | Path,
    dtype: str,
    frames: np.ndarray,
    refusal: str,
    agreement_min: float,
    labels: np.ndarray | None = None,
    margin: float = 0.1,
    accuracy_drop_max: float | None = None,
    reference_name: str = KERAS,
) -> dict[str, Any]:
    """`check_export` of a file ONNX Runtime refused (`refusal` is its message), on onnx's
    reference evaluator over a seeded draw of the frames (the reference itself runs as given)."""
    index = draw_indices(len(frames), REFERENCE_CHECK_FRAMES, REFERENCE_CHECK_SEED)
    if not callable(reference_predict):
        reference_predict = np.asarray(reference_predict)[index]
    try:
        figures = compare(
            reference_predict,
            reference_predictor(onnx_path),
            frames[index],
            len(index),
            None if labels is None else np.asarray(labels)[index],
            margin,
            reference_name,
        )
    except ExportCheckFailed:  # scores of the wrong shape: the export's fault, not the evaluator's
        raise
    except Exception as err:  # noqa: BLE001 - any evaluator failure leaves the file unchecked
        raise ExportCheckFailed(
            f"{dtype} ONNX export {onnx_path} cannot be checked: ONNX Runtime refused it "
            f"({refusal}) and onnx's reference evaluator failed ({type(err).__name__}: {err})"
        ) from err
    try:
        checked = verdict(dtype, figures, agreement_min, accuracy_drop_max, reference_name)
    except ExportCheckFailed as err:
        raise ExportCheckFailed(
            f"{err}; checked on onnx's reference evaluator because ONNX Runtime refused the "
            f"file ({refusal})"
        ) from err
    return {
        "status": "checked",
        "runtime": "onnx.reference.ReferenceEvaluator",
        "onnxruntime_refusal": refusal,
        "reference": reference_name,
        **checked,
    }


def calibrated_int8(
    fp32_path: str | Path,
    out: str | Path,
    data_dir: str | Path,
    calibration: dict[str, Any],
    scheme: str,
    log: logging.Logger | None = None,
) -> dict[str, Any]:
    """`quantize_int8` calibrated on a seeded draw of training frames (never test frames)."""
    train = load_split(data_dir, "train")
    chosen = calibration_frames(train.x, calibration["frames"], calibration["seed"])
    if log:
        log.info(
            "calibrating int8 (%s, scheme %s) on %d training frames",
            calibration["method"],
            scheme,
            len(chosen),
        )
    return quantize_int8(fp32_path, out, chosen, calibration["method"], scheme)


def export_checked(
    dtype: str,
    source: str | Path,
    out: str | Path,
    data_dir: str | Path,
    settings: dict[str, Any],
    threads: int,
    calibration: dict[str, Any] | None = None,
    int8_scheme: str | None = None,
    log: logging.Logger | None = None,
    scores_out: str | Path | None = None,
    reference_scores: str | Path | None = None,
) -> dict[str, Any]:
    """Export, check against the source on the test split, and return the check record.

    `source` is what the file is made from and checked against: the Keras model for fp32
    (converted by tf2onnx, compared on tf_keras), the checked fp32 ONNX export for fp16 and
    int8 (so all three share its graph; compared on ONNX Runtime, so no TensorFlow starts).
    The export is written to a temporary file and renamed to `out` only after its check
    passed: a failing check (ExportCheckFailed) leaves no ONNX file behind. `settings` is
    `amrcomp.settings.export_settings`, `calibration` `onnx_calibration` (int8 only).
    `reference_scores` (.npy) are the source's scores of the test split, computed before (the
    Keras model's by its evaluation, the fp32 export's by its check): the check compares with
    them instead of running the source again. The fp32 export's scores go to `scores_out`.
    """
    import onnx

    from amrcomp.sizes import file_sizes

    if dtype not in ("fp32", "fp16", "int8"):
        raise ValueError(f"unknown ONNX dtype {dtype!r}; deploy.dtypes allows fp32, fp16, int8")
    test = load_split(data_dir, "test")
    quantization = None
    with atomic_path(out, suffix=".onnx") as tmp:
        if dtype == "fp32":
            from amrcomp.models.io import load_model  # the stage's only TensorFlow import

            model = load_model(source)
            keras_to_onnx(model, tmp, settings["opset"])
            reference = {"name": KERAS, "runtime": "tf_keras"}
            predict = lambda x: model(x, training=False).numpy()  # noqa: E731
        else:
            if dtype == "fp16":
                save_onnx(to_float16(onnx.load(str(source))), tmp)
            else:
                quantization = calibrated_int8(source, tmp, data_dir, calibration, int8_scheme, log)
            reference = {"name": FP32_ONNX, "runtime": ORT_CPU}
            predict = None if reference_scores else onnx_predictor(source, threads)
        if reference_scores:  # the source's own job computed them (evaluation, fp32 check)
            predict = np.load(reference_scores)
        check = check_export(
            predict,
            tmp,
            dtype,
            test.model_input(),
            threads=threads,
            batch_size=settings["batch_size"],
            labels=test.labels,
            reference_name=reference["name"],
            keep_scores=scores_out is not None,
            **settings["check"],
        )
        check["reference_runtime"] = reference["runtime"]
        check["reference_scores"] = None if reference_scores is None else str(reference_scores)
        if scores_out is not None:
            with atomic_path(scores_out, suffix=".npy") as scores:
                np.save(scores, check.pop("scores"))
        classes = read_manifest(data_dir)["classes"]
        evaluation = runtime_evaluation(check, test, classes, threads)
        if log:
            figures = {k: v for k, v in check.items() if k != "n_frames"}
            log.info("check on %d test frames: %s", check["n_frames"], figures)
        ops = op_counts(tmp)
    return {
        "dtype": dtype,
        "opset": int(settings["opset"]),
        "check": check,
        "quantization": quantization,
        "ops": ops,
        "source": str(source),
        **file_sizes(out),
        "evaluation": evaluation,
    }


def runtime_evaluation(
    check: dict[str, Any], test: Split, classes: list[str], threads: int
) -> dict[str, Any] | None:
    """The export's evaluation record on ONNX Runtime (`amrcomp.scoring.summarise`) from the
    check's class per frame, which it pops; None unless the check ran there on the whole split.

    The ONNX Runtime benchmark of the same file reuses it instead of scoring the split again
    (ONNX Runtime's CPU kernels give the same classes at 1 and 2 threads: README "Benchmarks").
    """
    predicted = check.pop("predicted_classes", None)
    if predicted is None or check["runtime"] != ORT_CPU or len(predicted) != len(test):
        return None
    return {**summarise(test.labels, test.snr, predicted, classes), "threads": int(threads)}
