"""TFLite files: conversion from tf_keras (post-training and quantisation-aware models alike),
atomic storage, and the zeros their kernels keep.

Converting needs TensorFlow; reading a file's kernels needs only ai_edge_litert and numpy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from amrcomp import tfsetup  # noqa: F401 - sets TF_USE_LEGACY_KERAS before any TensorFlow import
from amrcomp.atomic import atomic_path

DTYPES = ("fp32", "fp16", "dynamic", "int8")
KERNEL_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV")


def convert(model, dtype: str, calibration: np.ndarray | None = None) -> bytes:
    """Convert a tf_keras model to a .tflite flatbuffer.

    fp32: plain conversion; fp16: float16 weights; dynamic: int8 weights, float activations,
    no calibration; int8: full integer with int8 input/output and int8 builtin ops only,
    calibrated on `calibration` (n, 2, L, 1) frames fed one at a time.
    """
    import tensorflow as tf

    if dtype not in DTYPES:
        raise ValueError(f"unknown TFLite dtype {dtype!r}; expected one of {DTYPES}")
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if dtype != "fp32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if dtype == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    elif dtype == "int8":
        if calibration is None or len(calibration) == 0:
            raise ValueError(
                "int8 quantisation needs calibration frames "
                "(representative data from the training split)"
            )
        frames = np.asarray(calibration, dtype=np.float32)

        def representative():
            for i in range(len(frames)):
                yield [frames[i : i + 1]]

        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()


def write_tflite(data: bytes, path: str | Path) -> None:
    """Store a flatbuffer atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def weight_sparsity(path_or_bytes: str | Path | bytes) -> dict[str, float]:
    """Fraction of exact zeros in each kernel (filter operand of a conv/dense op) of a .tflite,
    by tensor name, and "overall" over all of them: the sparsity that survived conversion.

    Reads the flatbuffer (no interpreter, no TensorFlow); a kernel stored through a DEQUANTIZE
    (fp16, dynamic) is counted in its stored type.
    """
    from ai_edge_litert import schema_py_generated as schema

    from amrcomp.runtimes import enum_names

    buf = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    model = schema.Model.GetRootAs(buf, 0)
    graph = model.Subgraphs(0)
    op_names = enum_names(schema.BuiltinOperator)
    type_names = enum_names(schema.TensorType)

    def data(i: int) -> np.ndarray | None:
        tensor = graph.Tensors(i)
        buffer = model.Buffers(tensor.Buffer())
        if buffer is None:
            return None
        if buffer.Offset() > 1:  # stored after the flatbuffer (> 2 GB models)
            raw = buf[buffer.Offset() : buffer.Offset() + buffer.Size()]
        else:
            raw = buffer.DataAsNumpy()
            raw = raw.tobytes() if isinstance(raw, np.ndarray) else b""
        if not raw:
            return None
        return np.frombuffer(raw, dtype=np.dtype(type_names[tensor.Type()].lower()))

    operators = []
    for k in range(graph.OperatorsLength()):
        op = graph.Operators(k)
        code = model.OperatorCodes(op.OpcodeIndex())
        name = op_names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "CUSTOM")
        inputs = [int(i) for i in op.InputsAsNumpy()] if op.InputsLength() else []
        outputs = [int(i) for i in op.OutputsAsNumpy()] if op.OutputsLength() else []
        operators.append((name, inputs, outputs))
    stored = {o: ins[0] for name, ins, outs in operators if name == "DEQUANTIZE" for o in outs}
    kernels = {stored.get(ins[1], ins[1]) for name, ins, _ in operators if name in KERNEL_OPS}
    sparsity: dict[str, float] = {}
    zeros = total = 0
    for source in sorted(k for k in kernels if k >= 0):
        values = data(source)
        if values is None:
            continue
        n_zero = int(values.size - np.count_nonzero(values))
        full = graph.Tensors(source).Name().decode()
        key = full.split(";")[0]  # the converter joins the names of fused ops with ";"
        sparsity[full if key in sparsity or key == "overall" else key] = n_zero / values.size
        zeros, total = zeros + n_zero, total + values.size
    if not total:
        raise ValueError("no constant conv/dense kernel in this .tflite")
    sparsity["overall"] = zeros / total
    return sparsity
