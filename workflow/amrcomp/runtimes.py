"""Open and run a deployed file on ONNX Runtime (CPU provider) or LiteRT: frames in, scores out.

The one place that runs a deployed model, so the export checks, the TFLite evaluations and the
benchmarks all measure the same code path. It imports neither TensorFlow nor the workflow's
stages: running a .onnx needs onnxruntime, running a .tflite needs ai_edge_litert and numpy.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from amrcomp import precision

Predictor = Callable[[np.ndarray], np.ndarray]


class BackendUnsupported(RuntimeError):
    """The backend itself refused (missing kernel or op); the message is the backend's own text.

    Benchmarks record this as status "unsupported" instead of failing: it is a property of the
    backend and machine, not a bug in the workflow. An export check that ONNX Runtime refuses
    runs on onnx's reference evaluator instead (`reference_predictor`).
    """

    def __init__(self, message: str, refused: dict[str, str] | None = None):
        super().__init__(message)
        self.refused = refused  # the op and dtype refused, where the message names them


# ---------------------------------------------------------------- ONNX Runtime


def _ort_not_implemented() -> type[Exception]:
    """ORT's NOT_IMPLEMENTED error class (imported lazily: it lives in the compiled extension)."""
    from onnxruntime.capi.onnxruntime_pybind11_state import NotImplemented as OrtNotImplemented

    return OrtNotImplemented


def optimized_graph(path: str | Path) -> dict[str, Any]:
    """Operators, weight types and compute-node precisions of the graph ORT actually runs.

    Shows whether int8 QDQ pairs were fused into integer kernels (QLinearConv/QGemm) and
    whether a float16 model kept float16 compute or was cast back to float32 by the CPU provider
    (`amrcomp.precision.onnx_compute`).
    """
    import onnx
    from onnx import TensorProto

    graph = onnx.load(str(path)).graph
    ops: dict[str, int] = {}
    for node in graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    weight_types: dict[str, int] = {}
    for init in graph.initializer:
        if len(init.dims) >= 2:
            name = TensorProto.DataType.Name(init.data_type).lower()
            weight_types[name] = weight_types.get(name, 0) + 1
    return {
        "ops": dict(sorted(ops.items())),
        "weight_tensor_types": dict(sorted(weight_types.items())),
        "compute": [list(c) for c in precision.onnx_compute(graph)],
    }


class OrtSession:
    """One CPU InferenceSession: full graph optimisation, `threads` intra-op threads, sequential.

    A kernel the CPU provider lacks for a dtype (ORT's NOT_IMPLEMENTED) becomes BackendUnsupported
    carrying ORT's own message; every other error propagates.
    """

    def __init__(self, path: str | Path, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        with tempfile.TemporaryDirectory(prefix="amrcomp-ort-") as tmp:
            options.optimized_model_filepath = str(Path(tmp) / "optimized.onnx")
            # The NCHWc "hardware specific" serialisation warning is expected here.
            options.log_severity_level = 3
            try:
                self.session = ort.InferenceSession(
                    str(path), options, providers=["CPUExecutionProvider"]
                )
            except _ort_not_implemented() as err:
                raise BackendUnsupported(str(err)) from err
            self.optimized = optimized_graph(options.optimized_model_filepath)
        self.input = self.session.get_inputs()[0].name
        self.output = self.session.get_outputs()[0].name
        self.threads = int(threads)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Scores (n, classes) as float32 for frames (n, ...) of any batch size."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        try:
            scores = self.session.run([self.output], {self.input: x})[0]
        except _ort_not_implemented() as err:
            raise BackendUnsupported(str(err)) from err
        return np.asarray(scores, dtype=np.float32)


def onnx_predictor(path: str | Path, threads: int) -> Predictor:
    """A `predict(x) -> scores` callable over an ONNX file on the CPU provider."""
    return OrtSession(path, threads).predict


def reference_predictor(path: str | Path) -> Predictor:
    """`predict(x) -> scores` over an ONNX file on onnx's reference evaluator (numpy).

    Computes every node in its graph type (float16 stays float16), with no kernel gaps, so it
    checks an export ONNX Runtime's CPU provider refuses and serves as the fp16-computed
    reference of a precision measurement; slow (seconds per frame for Model 2 in float16).
    """
    from onnx.reference import ReferenceEvaluator
    from onnx.reference.ops.op_dequantize_linear import DequantizeLinear_25

    class DequantizeLinear(DequantizeLinear_25):
        """onnx 1.23 implements DequantizeLinear from opset 19 only; opsets 13-18 compute the
        same for the int8/uint8/int32 inputs of our QDQ files."""

        op_domain = ""

    evaluator = ReferenceEvaluator(str(path), new_ops=[DequantizeLinear])
    name = evaluator.input_names[0]

    def predict(x: np.ndarray) -> np.ndarray:
        scores = evaluator.run(None, {name: np.ascontiguousarray(x, dtype=np.float32)})[0]
        return np.asarray(scores, dtype=np.float32)

    return predict


# ---------------------------------------------------------------- LiteRT


def enum_names(enum_class) -> dict[int, str]:
    """Value -> name of a flatbuffer schema enum (a plain class of int constants)."""
    return {
        v: k for k, v in vars(enum_class).items() if not k.startswith("_") and isinstance(v, int)
    }


# Ops whose constant inputs are the model's weights (kernels and biases); a float16 or
# otherwise stored weight reaches them through a DEQUANTIZE of the constant.
WEIGHT_OPS = precision.LITERT_COMPUTE


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
        raise ValueError(
            f"{path} is not a TFLite flatbuffer ({err}); delete it and re-run the quantize rule"
        ) from err
    type_names = enum_names(schema.TensorType)
    op_names = enum_names(schema.BuiltinOperator)

    def dtype(i: int) -> str:
        return type_names[graph.Tensors(i).Type()].lower()

    def const_bytes(i: int) -> int:
        buffer = model.Buffers(graph.Tensors(i).Buffer())
        if buffer is None:
            return 0
        # Size: data stored after the flatbuffer (> 2 GB models)
        return int(buffer.DataLength() or buffer.Size())

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


def litert_interpreter(path: str | Path, threads: int = 1, delegate: bool = True):
    """A LiteRT Interpreter: with LiteRT's default XNNPACK delegate (what is deployed and
    benchmarked), or on the builtin kernels only, which compute float ops in float32."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    if not Path(path).exists():
        raise FileNotFoundError(
            f"{path} is missing: run the quantize rule (snakemake {path}) first"
        )
    resolver = OpResolverType.AUTO if delegate else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    return Interpreter(
        model_path=str(path), num_threads=int(threads), experimental_op_resolver_type=resolver
    )


def litert_ops(path: str | Path, threads: int = 1) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """Op details (the original ops and the DELEGATE nodes that replaced some) and tensor dtypes
    of an interpreter opened as `litert_predictor` opens it (LiteRT lists ops only through its
    private `_get_ops_details`)."""
    interpreter = litert_interpreter(path, threads)
    interpreter.allocate_tensors()
    dtypes = {int(t["index"]): np.dtype(t["dtype"]).name for t in interpreter.get_tensor_details()}
    return interpreter._get_ops_details(), dtypes


def litert_predictor(path: str | Path, threads: int = 1, delegate: bool = True) -> Predictor:
    """A batch predictor over a .tflite file: float32 frames (n, ...) -> float32 scores (n, C).

    The input is resized to each batch size (re-allocating only when the size changes, so a
    last short batch costs one resize); an integer input is quantised with the input tensor's
    scale and zero point and an integer output dequantised with the output tensor's.
    """
    interpreter = litert_interpreter(path, threads, delegate)
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    in_shape = tuple(int(d) for d in inp["shape"][1:])
    in_dtype, out_dtype = np.dtype(inp["dtype"]), np.dtype(out["dtype"])
    in_scale, in_zero = inp["quantization"]
    out_scale, out_zero = out["quantization"]
    if in_dtype.kind in "iu" and in_scale == 0:
        raise ValueError(
            f"{path}: integer input without quantisation parameters; "
            "re-convert with a representative dataset"
        )
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
