"""Keras -> ONNX in the three deployed precisions, and the checks that each file computes what its Keras source does.

- fp32: tf2onnx from the (stripped) tf_keras model, dynamic batch, input named "iq".
- fp16: float16 weights and compute with float32 graph inputs/outputs (Cast nodes at both ends),
  the form TensorRT's strongly typed networks take FP16 from; converted here with the onnx API.
- int8: QDQ model from static calibration on training frames (onnxruntime.quantization). Two
  schemes, because the consumers disagree: ONNX Runtime's x86 fast path is uint8 asymmetric
  activations with int32 biases (U8S8), while TensorRT accepts only symmetric int8 activations
  and rejects DequantizeLinear on int32 biases ("only activation types allowed as input").

An export whose outputs drift from Keras must fail its rule, not reach a benchmark table.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from amrcomp.atomic import atomic_path

INPUT_NAME = "iq"
FP32_MAX_ABS_DIFF = 1e-4
INT8_SCHEMES = {
    # activations, symmetric activations, quantised (int32) biases
    "onnxruntime": {"activation": "uint8", "activation_symmetric": False, "quantize_bias": True},
    "tensorrt": {"activation": "int8", "activation_symmetric": True, "quantize_bias": False},
}
CALIBRATION_METHODS = ("minmax", "entropy", "percentile")


class ExportCheckFailed(RuntimeError):
    """An exported model does not reproduce its Keras source within the configured tolerance."""


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
        raise ValueError(f"tf2onnx produced graph inputs {names}; expected exactly [{INPUT_NAME!r}] (is the Keras input layer named 'iq'?)")
    onnx.checker.check_model(proto, full_check=True)
    save_onnx(proto, path)


def save_onnx(proto, path: str | Path) -> None:
    import onnx

    with atomic_path(path, suffix=".onnx") as tmp:
        onnx.save(proto, str(tmp))


def to_float16(proto):
    """Float16 copy of a float32 ONNX model whose graph inputs and outputs stay float32.

    Float initialisers and Constant values become float16, Casts to float become Casts to
    float16, a Cast float32->float16 follows each float input and a Cast float16->float32
    precedes each float output. Shapes/types are re-inferred and checked, so an op that cannot
    take float16 fails here, naming the node, rather than in a benchmark.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.ModelProto()
    model.CopyFrom(proto)
    graph = model.graph
    limit = float(np.finfo(np.float16).max)

    def half(tensor: TensorProto) -> TensorProto:
        arr = numpy_helper.to_array(tensor)
        out = numpy_helper.from_array(np.clip(arr, -limit, limit).astype(np.float16), tensor.name)
        return out

    for i, init in enumerate(graph.initializer):
        if init.data_type == TensorProto.FLOAT:
            graph.initializer[i].CopyFrom(half(init))
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TensorProto.FLOAT:
                attr.t.CopyFrom(half(attr.t))
            if node.op_type == "Cast" and attr.name == "to" and attr.i == TensorProto.FLOAT:
                attr.i = TensorProto.FLOAT16

    def rename_uses(old: str, new: str) -> None:
        for node in graph.node:
            for k, name in enumerate(node.input):
                if name == old:
                    node.input[k] = new

    head, tail = [], []
    for inp in graph.input:
        if inp.type.tensor_type.elem_type == TensorProto.FLOAT:
            rename_uses(inp.name, f"{inp.name}_fp16")
            head.append(helper.make_node("Cast", [inp.name], [f"{inp.name}_fp16"], name=f"{inp.name}_to_fp16", to=TensorProto.FLOAT16))
    for out in graph.output:
        if out.type.tensor_type.elem_type == TensorProto.FLOAT:
            inner = f"{out.name}_fp16"
            for node in graph.node:
                for k, name in enumerate(node.output):
                    if name == out.name:
                        node.output[k] = inner
            rename_uses(out.name, inner)
            tail.append(helper.make_node("Cast", [inner], [out.name], name=f"{out.name}_to_fp32", to=TensorProto.FLOAT))
    nodes = [*head, *graph.node, *tail]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.value_info[:]
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    onnx.checker.check_model(inferred, full_check=True)
    return inferred


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
    """`n` training frames drawn without replacement with a fixed seed, as (n, 2, L, 1) float32."""
    if len(train_x) == 0:
        raise ValueError("the training split is empty: no frames to calibrate int8 on")
    rng = np.random.default_rng(seed)
    index = np.sort(rng.choice(len(train_x), size=min(int(n), len(train_x)), replace=False))
    return np.asarray(train_x[index], dtype=np.float32)[..., None]


def quantize_int8(fp32_path: str | Path, out_path: str | Path, frames: np.ndarray, method: str, scheme: str, batch_size: int = 64) -> dict[str, Any]:
    """Write a QDQ int8 model calibrated on `frames`; return the settings used (for the check record)."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if method not in CALIBRATION_METHODS:
        raise ValueError(f"deploy.calibration.method: unknown {method!r}; expected one of {CALIBRATION_METHODS}")
    if scheme not in INT8_SCHEMES:
        raise ValueError(f"unknown int8 scheme {scheme!r}; expected one of {sorted(INT8_SCHEMES)}")
    settings = INT8_SCHEMES[scheme]
    calibrate = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy, "percentile": CalibrationMethod.Percentile}[method]
    activation = QuantType.QUInt8 if settings["activation"] == "uint8" else QuantType.QInt8
    extra = {"ActivationSymmetric": settings["activation_symmetric"], "WeightSymmetric": True, "QuantizeBias": settings["quantize_bias"]}
    with tempfile.TemporaryDirectory(prefix="amrcomp-int8-") as tmp_dir:
        pre = Path(tmp_dir) / "pre.onnx"
        # Symbolic shape inference needs sympy (not installed); ONNX shape inference covers these static CNNs.
        quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
        # The softmax stays float: 8-bit probabilities tie on confident or near-uniform outputs and flip the argmax.
        softmax = [n.name for n in onnx.load(str(pre)).graph.node if n.op_type == "Softmax"]
        with atomic_path(out_path, suffix=".onnx") as tmp:
            quantize_static(
                str(pre), str(tmp), _FrameReader(frames, batch_size), quant_format=QuantFormat.QDQ, per_channel=True,
                activation_type=activation, weight_type=QuantType.QInt8, calibrate_method=calibrate, extra_options=extra,
                nodes_to_exclude=softmax,
            )
    return {"format": "QDQ", "scheme": scheme, "float_nodes": softmax, "per_channel": True, "weights": "int8", "weight_symmetric": True, "calibration_method": method, "calibration_frames": int(len(frames)), **settings}


def op_counts(path: str | Path) -> dict[str, int]:
    """Operator histogram of an ONNX file (shows the QDQ nodes and Casts an export added)."""
    import onnx

    counts: dict[str, int] = {}
    for node in onnx.load(str(path)).graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return dict(sorted(counts.items()))


def compare(reference: Callable[[np.ndarray], np.ndarray], candidate: Callable[[np.ndarray], np.ndarray], frames: np.ndarray, batch_size: int = 1024, labels: np.ndarray | None = None, margin: float = 0.1) -> dict[str, Any]:
    """How closely a candidate predictor follows a reference on the same frames.

    Max |softmax difference| and class agreement over all frames, and class agreement over the
    *decisive* frames, where the reference's top-1 score beats its top-2 by at least `margin`:
    a weak classifier (low-SNR frames) has many near-ties whose argmax any rounding flips, so
    only decisive frames tell a faithful quantised export from a broken one. With `labels`,
    also both accuracies and the candidate's accuracy drop.
    """
    if len(frames) == 0:
        raise ValueError("no frames to compare the export on (empty test split)")
    max_diff, agree, decisive, decisive_agree, ref_hits, hits = 0.0, 0, 0, 0, 0, 0
    for start in range(0, len(frames), batch_size):
        batch = frames[start : start + batch_size]
        ref = np.asarray(reference(batch), dtype=np.float64)
        got = np.asarray(candidate(batch), dtype=np.float64)
        if ref.shape != got.shape:
            raise ExportCheckFailed(f"export returns scores of shape {got.shape}; Keras returns {ref.shape}")
        max_diff = max(max_diff, float(np.abs(ref - got).max()))
        same = ref.argmax(1) == got.argmax(1)
        top2 = np.sort(ref, axis=1)[:, -2:]
        sure = (top2[:, 1] - top2[:, 0]) >= margin
        agree, decisive, decisive_agree = agree + int(same.sum()), decisive + int(sure.sum()), decisive_agree + int((same & sure).sum())
        if labels is not None:
            truth = np.asarray(labels[start : start + batch_size])
            ref_hits, hits = ref_hits + int((ref.argmax(1) == truth).sum()), hits + int((got.argmax(1) == truth).sum())
    figures = {
        "n_frames": int(len(frames)), "max_abs_diff": max_diff, "agreement": agree / len(frames),
        "margin": float(margin), "decisive_frames": decisive, "decisive_agreement": decisive_agree / decisive if decisive else None,
    }
    if labels is not None:
        figures.update(reference_accuracy=ref_hits / len(frames), accuracy=hits / len(frames), accuracy_drop=(ref_hits - hits) / len(frames))
    return figures


def verdict(dtype: str, figures: dict[str, Any], agreement_min: float, accuracy_drop_max: float | None = None) -> dict[str, Any]:
    """Apply the acceptance rule for a dtype; raise ExportCheckFailed with the numbers when it fails.

    fp32 must reproduce Keras' scores; fp16/int8 must agree on the decisive frames and (when
    labels were compared) lose at most `accuracy_drop_max` accuracy.
    """
    if dtype == "fp32":
        criterion = {"max_abs_diff_below": FP32_MAX_ABS_DIFF}
        problems = [f"max |softmax diff| {figures['max_abs_diff']:.3g} >= {FP32_MAX_ABS_DIFF:g}"] if figures["max_abs_diff"] >= FP32_MAX_ABS_DIFF else []
    else:
        criterion = {"agreement_min": float(agreement_min), "accuracy_drop_max": accuracy_drop_max}
        problems = []
        decisive = figures["decisive_agreement"]
        if decisive is not None and decisive < agreement_min:
            problems.append(f"class agreement {decisive:.4f} < deploy.agreement_min {agreement_min} on the {figures['decisive_frames']} frames where Keras' top-1 leads by >= {figures['margin']:g}")
        drop = figures.get("accuracy_drop")
        if accuracy_drop_max is not None and drop is not None and drop > accuracy_drop_max:
            problems.append(f"accuracy {figures['accuracy']:.4f} vs Keras {figures['reference_accuracy']:.4f}, a drop of {drop:.4f} > deploy.accuracy_drop_max {accuracy_drop_max}")
    if problems:
        raise ExportCheckFailed(f"{dtype} ONNX export differs from its Keras model on {figures['n_frames']} test frames: {'; '.join(problems)} (max |softmax diff| {figures['max_abs_diff']:.3g}, agreement on all frames {figures['agreement']:.4f})")
    return {**figures, **criterion, "passed": True}


def check_export(keras_predict: Callable[[np.ndarray], np.ndarray], onnx_path: str | Path, dtype: str, frames: np.ndarray, agreement_min: float, threads: int, batch_size: int = 1024, labels: np.ndarray | None = None, margin: float = 0.1, accuracy_drop_max: float | None = None) -> dict[str, Any]:
    """Run the export on ONNX Runtime's CPU provider beside Keras and apply `verdict`.

    If ONNX Runtime has no CPU kernel for the fp16/int8 graph the check cannot run here: the
    record says "unverified" with ORT's message (the benchmarks record the same refusal);
    fp32 must always be checkable.
    """
    from amrcomp.bench.errors import BackendUnsupported
    from amrcomp.bench.onnxrt import onnx_predictor

    try:
        figures = compare(keras_predict, onnx_predictor(onnx_path, threads), frames, batch_size, labels, margin)
    except BackendUnsupported as err:
        if dtype == "fp32":
            raise
        return {"status": "unverified", "passed": None, "message": str(err), "n_frames": int(len(frames))}
    return {"status": "checked", **verdict(dtype, figures, agreement_min, accuracy_drop_max)}
