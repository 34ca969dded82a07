"""TFLite post-training quantisation (Table IV), flatbuffer inspection and batched LiteRT inference.

Converting needs TensorFlow; running and inspecting a .tflite needs only ai_edge_litert and
numpy, so `litert_predictor` and `tensor_types` never import TensorFlow and the deploy
benchmark reuses them as its LiteRT backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from amrcomp import tfsetup  # noqa: F401 - sets TF_USE_LEGACY_KERAS before any TensorFlow import
from amrcomp.atomic import atomic_path
from amrcomp.frames import Split

DTYPES = ("fp32", "fp16", "dynamic", "int8")
# Ops whose constant inputs are the model's weights (kernels and biases); a float16 or
# otherwise stored weight reaches them through a DEQUANTIZE of the constant.
WEIGHT_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "BATCH_MATMUL")


def calibration_indices(n_frames: int, n_calibration: int, seed: int) -> np.ndarray:
    """Sorted, distinct frame indices of a seeded draw (all frames when the split is smaller)."""
    if n_frames < 1:
        raise ValueError("the calibration split is empty: int8 quantisation needs training frames")
    if n_calibration < 1:
        raise ValueError(f"quantize.calibration_frames must be >= 1, got {n_calibration}")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_frames, size=min(n_calibration, n_frames), replace=False))


def representative_frames(frames: Split, n_calibration: int, seed: int) -> np.ndarray:
    """Calibration frames (n, 2, L, 1) float32 drawn from a split (the training split: never the test set)."""
    idx = calibration_indices(len(frames), n_calibration, seed)
    return np.asarray(frames.x[idx], dtype=np.float32)[..., None]


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
            raise ValueError("int8 quantisation needs calibration frames (representative data from the training split)")
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


def _enum_names(enum_class) -> dict[int, str]:
    return {v: k for k, v in vars(enum_class).items() if not k.startswith("_") and isinstance(v, int)}


def tensor_types(path: str | Path) -> dict[str, Any]:
    """Tensor types stored in a .tflite flatbuffer (read from the file, not from the interpreter).

    Returns input/output dtype of the first subgraph, the sorted sets of weight dtypes
    (constants feeding conv/dense ops, directly or through a DEQUANTIZE) and of kernel dtypes
    (their filter operand only; biases excluded), and the bytes of every constant tensor per
    dtype (weights plus shape constants).
    """
    from ai_edge_litert import schema_py_generated as schema

    buf = Path(path).read_bytes()
    try:
        model = schema.Model.GetRootAs(buf, 0)
        graph = model.Subgraphs(0)
    except Exception as err:  # noqa: BLE001 - any parse failure means a bad file
        raise ValueError(f"{path} is not a TFLite flatbuffer ({err}); delete it and re-run the quantize rule") from err
    type_names = _enum_names(schema.TensorType)
    op_names = _enum_names(schema.BuiltinOperator)

    def dtype(i: int) -> str:
        return type_names[graph.Tensors(i).Type()].lower()

    def const_bytes(i: int) -> int:
        buffer = model.Buffers(graph.Tensors(i).Buffer())
        if buffer is None:
            return 0
        return int(buffer.DataLength() or buffer.Size())  # Size: data stored after the flatbuffer (> 2 GB models)

    constants = {i for i in range(graph.TensorsLength()) if const_bytes(i) > 0}
    dequantized = {}  # output tensor of a DEQUANTIZE of a constant -> that constant
    ops = []
    for k in range(graph.OperatorsLength()):
        op = graph.Operators(k)
        code = model.OperatorCodes(op.OpcodeIndex())
        name = op_names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "CUSTOM")
        inputs = [int(i) for i in op.InputsAsNumpy() if i >= 0] if op.InputsLength() else []
        outputs = [int(i) for i in op.OutputsAsNumpy()] if op.OutputsLength() else []
        ops.append((name, inputs))
        if name == "DEQUANTIZE" and inputs and inputs[0] in constants:
            dequantized.update({o: inputs[0] for o in outputs})
    weights, kernels = set(), set()
    for name, inputs in ops:
        if name in WEIGHT_OPS:
            for position, i in enumerate(inputs[1:], start=1):
                source = dequantized.get(i, i)
                if source in constants:
                    weights.add(source)
                    if position == 1:
                        kernels.add(source)
    constant_bytes: dict[str, int] = {}
    for i in constants:
        constant_bytes[dtype(i)] = constant_bytes.get(dtype(i), 0) + const_bytes(i)
    return {
        "input_dtype": dtype(int(graph.InputsAsNumpy()[0])),
        "output_dtype": dtype(int(graph.OutputsAsNumpy()[0])),
        "weight_dtypes": sorted({dtype(i) for i in weights}),
        "kernel_dtypes": sorted({dtype(i) for i in kernels}),
        "weight_bytes": int(sum(const_bytes(i) for i in weights)),
        "constant_bytes": dict(sorted(constant_bytes.items())),
        "operators": sorted({name for name, _ in ops}),
    }


def litert_predictor(path: str | Path, threads: int = 1) -> Callable[[np.ndarray], np.ndarray]:
    """A batch predictor over a .tflite file: float32 frames (n, ...) -> float32 scores (n, classes).

    The input is resized to each batch size (re-allocating only when the size changes, so a
    last short batch costs one resize); an integer input is quantised with the input tensor's
    scale and zero point and an integer output dequantised with the output tensor's.
    """
    from ai_edge_litert.interpreter import Interpreter

    if not Path(path).exists():
        raise FileNotFoundError(f"{path} is missing: run the quantize rule (snakemake {path}) first")
    interpreter = Interpreter(model_path=str(path), num_threads=int(threads))
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    in_shape = tuple(int(d) for d in inp["shape"][1:])
    in_dtype, out_dtype = np.dtype(inp["dtype"]), np.dtype(out["dtype"])
    in_scale, in_zero = inp["quantization"]
    out_scale, out_zero = out["quantization"]
    if in_dtype.kind in "iu" and in_scale == 0:
        raise ValueError(f"{path}: integer input without quantisation parameters; re-convert with a representative dataset")
    state = {"batch": None}

    def predict(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if tuple(x.shape[1:]) != in_shape:
            raise ValueError(f"{path} takes frames of shape {in_shape}, got {tuple(x.shape[1:])}")
        n = int(x.shape[0])
        if n != state["batch"]:
            interpreter.resize_tensor_input(inp["index"], [n, *in_shape])
            interpreter.allocate_tensors()
            state["batch"] = n
        if in_dtype.kind in "iu":
            info = np.iinfo(in_dtype)
            x = np.clip(np.round(x / in_scale + in_zero), info.min, info.max).astype(in_dtype)
        interpreter.set_tensor(inp["index"], x)
        interpreter.invoke()
        y = interpreter.get_tensor(out["index"])
        if out_dtype.kind in "iu":
            return (y.astype(np.float32) - out_zero) * np.float32(out_scale)
        return np.array(y, dtype=np.float32)

    return predict
