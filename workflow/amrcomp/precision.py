"""The precision a deployed model actually executed in, from what its runtime reports.

A file's dtype says how its weights are stored, not what its kernels compute in: ONNX Runtime's
x86 CPU provider has no float16 Conv/Gemm and runs an fp16 file in float32 behind inserted
Casts, XNNPACK upcasts float16 weights through DEQUANTIZE and may compute float32 graphs in
float16 when forced, and an int8 QDQ file computes in float when its Q/DQ pairs are not fused
into integer kernels. So each backend's evidence is read here, never the file name:

- ONNX Runtime: the element types of the compute nodes of the optimised graph
  (`onnx_compute`);
- LiteRT: op and tensor types after delegation (`litert_compute`); float ops inside a delegate
  are opaque, so their precision is measured (`measured`) against fp32- and fp16-computed
  references on the same frames;
- OpenVINO: the runtime precision of the compute nodes of the compiled model's runtime graph
  (`openvino_compute`): its CPU plugin picks bf16 by itself on CPUs with AVX-512 BF16 or AMX;
- TensorRT: the engine inspector's layer formats (`tensorrt_compute`).

Every function is pure (dicts, lists and arrays in), so fixtures test them without a runtime.
Inconclusive evidence gives "unknown", never a guess.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Callable, Iterable, Sequence

import numpy as np

PRECISIONS = ("fp32", "fp16", "bf16", "int8", "mixed", "unknown")
# Below this max |softmax difference| fp16 compute is invisible on the measured frames.
MIN_GAP = 1e-6
Compute = tuple[str, str]  # (operator or layer label, precision its kernel computes in)


def combine(compute: Sequence[Compute]) -> str:
    """One label for a model: the common precision of its compute ops, "mixed" when they differ,
    "unknown" when any op (or the whole list) is inconclusive."""
    kinds = {p for _, p in compute}
    if not kinds or "unknown" in kinds:
        return "unknown"
    return kinds.pop() if len(kinds) == 1 else "mixed"


def describe(compute: Sequence[Compute]) -> str:
    """'2 QLinearConv int8, 1 Gemm fp32': the compute ops counted by (op, precision)."""
    counts = Counter((str(op), str(p)) for op, p in compute)
    return ", ".join(f"{n} {op} {p}" for (op, p), n in counts.items()) or "no compute ops found"


def result(compute: Sequence[Compute], source: str, notes: Iterable[str] = ()) -> dict[str, Any]:
    """The record fields: `executed_precision`, a short `precision_evidence`, the op list."""
    evidence = "; ".join([f"{source}: {describe(compute)}", *notes])
    return {
        "executed_precision": combine(compute),
        "precision_evidence": evidence,
        "compute_ops": [list(c) for c in compute],
    }


def not_run(reason: str) -> dict[str, Any]:
    """The fields of a record whose model never ran: nothing executed, so nothing is known."""
    return {
        "executed_precision": "unknown",
        "precision_evidence": f"not run: {reason}",
        "compute_ops": [],
    }


# ---------------------------------------------------------------- ONNX Runtime

# onnx.TensorProto element types (numbers, so this module needs no onnx import).
FLOAT, UINT8, INT8, INT32, INT64, FLOAT16 = 1, 2, 3, 6, 7, 10
FLOAT_PRECISION = {FLOAT: "fp32", FLOAT16: "fp16"}
# Nodes carrying the model's multiply-accumulates, as ORT names them after fusion and layout
# transformation (com.microsoft and com.microsoft.nchwc domains included).
ONNX_FLOAT_COMPUTE = frozenset(
    {"Conv", "ConvTranspose", "MatMul", "Gemm", "FusedConv", "FusedGemm", "FusedMatMul"}
    | {"NhwcFusedConv", "TransposeMatMul"}
)
ONNX_INTEGER_COMPUTE = frozenset(
    {"QLinearConv", "QLinearMatMul", "QGemm", "MatMulInteger", "ConvInteger"}
    | {"MatMulIntegerToFloat", "DynamicQuantizeMatMul"}
)
# Input position of the output zero point, whose type is the quantised output's.
_OUTPUT_ZERO_POINT = {"QLinearConv": 7, "QLinearMatMul": 7, "QGemm": 8, "QuantizeLinear": 2}


def _attribute(node, name: str) -> Any:
    from onnx import helper

    return next((helper.get_attribute_value(a) for a in node.attribute if a.name == name), None)


def _output_type(node, types: dict[str, int]) -> int | None:
    """Element type of a node's first output from its inputs' types (None: cannot tell)."""
    op = node.op_type
    if op == "Cast":
        return int(_attribute(node, "to"))
    if op in _OUTPUT_ZERO_POINT:
        position = _OUTPUT_ZERO_POINT[op]
        if len(node.input) > position and node.input[position]:
            return types.get(node.input[position])
        if op == "QuantizeLinear":  # no zero point: uint8 unless opset 21's output_dtype says
            return int(_attribute(node, "output_dtype") or UINT8)
        return FLOAT  # QGemm without output scale returns float
    if op == "DequantizeLinear":
        return types.get(node.input[1])
    if op == "DynamicQuantizeLinear":
        return UINT8
    if op in ("MatMulInteger", "ConvInteger"):
        return INT32
    if op in ("MatMulIntegerToFloat", "DynamicQuantizeMatMul"):
        return FLOAT
    if op in ("Shape", "Size", "NonZero", "ArgMax", "ArgMin"):
        return INT64
    return next((types[i] for i in node.input if i in types), None)


def onnx_compute(graph) -> list[Compute]:
    """(op, precision) of every compute node of an ONNX graph (an onnx GraphProto).

    Types are propagated from the graph inputs and initialisers in node order (ORT writes its
    optimised graph topologically sorted; its value_info is stale after fusion). Integer kernels
    count as int8 when they take 8-bit integers, float kernels by their first input's type.
    """
    types = {v.name: v.type.tensor_type.elem_type for v in graph.input}
    types.update({t.name: t.data_type for t in graph.initializer})
    compute = []
    for node in graph.node:
        # "nchwc.Conv" for ORT's blocked-layout kernels; other contrib ops unprefixed
        domain = node.domain.removeprefix("com.microsoft").lstrip(".")
        label = f"{domain}.{node.op_type}" if domain else node.op_type
        first = types.get(node.input[0]) if node.input else None
        if node.op_type in ONNX_INTEGER_COMPUTE:
            integer = first in (INT8, UINT8) or node.op_type == "DynamicQuantizeMatMul"
            compute.append((label, "int8" if integer else "unknown"))
        elif node.op_type in ONNX_FLOAT_COMPUTE:
            compute.append((label, FLOAT_PRECISION.get(first, "unknown")))
        out = _output_type(node, types)
        if out is not None:
            types.update({o: out for o in node.output if o})
    return compute


# ---------------------------------------------------------------- LiteRT

# The ops carrying a model's multiply-accumulates; their constant inputs are its weights.
LITERT_COMPUTE = (
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "FULLY_CONNECTED",
    "TRANSPOSE_CONV",
    "BATCH_MATMUL",
)
LITERT_INTEGER = ("int8", "uint8")


def delegated_nodes(ops: Sequence[dict[str, Any]]) -> set[int]:
    """Positions of the ops a delegate took over: those between its inputs and outputs.

    LiteRT lists the original ops beside each DELEGATE node that replaced some of them; walking
    back from the delegate's outputs to its inputs finds which.
    """
    producer = {}
    for k, op in enumerate(ops):
        if op["op_name"] != "DELEGATE":
            producer.update({int(t): k for t in op["outputs"]})
    inside: set[int] = set()
    for op in ops:
        if op["op_name"] != "DELEGATE":
            continue
        boundary = {int(t) for t in op["inputs"]}
        stack = [int(t) for t in op["outputs"]]
        while stack:
            tensor = stack.pop()
            k = producer.get(tensor)
            if tensor in boundary or k is None or k in inside:
                continue
            inside.add(k)
            stack.extend(int(t) for t in ops[k]["inputs"] if int(t) >= 0)
    return inside


def litert_compute(
    ops: Sequence[dict[str, Any]], dtypes: dict[int, str]
) -> list[tuple[str, str, bool]]:
    """(op, precision, delegated) of every compute op, from the interpreter's op details and
    tensor dtypes (`Interpreter._get_ops_details`, `get_tensor_details`).

    Integer activations and weights compute in int8 wherever they run; float32 ops on the
    builtin kernels compute in float32; float32 ops inside a delegate get "float32", which only
    says what crosses the delegate's boundary (XNNPACK may compute them in float16).
    """
    inside = delegated_nodes(ops)
    compute = []
    for k, op in enumerate(ops):
        if op["op_name"] not in LITERT_COMPUTE:
            continue
        inputs = [int(t) for t in op["inputs"] if int(t) >= 0]
        act, weight = (dtypes.get(t) for t in inputs[:2])
        if act in LITERT_INTEGER and weight in LITERT_INTEGER:
            precision = "int8"
        elif act == weight == "float32":
            precision = "float32" if k in inside else "fp32"
        else:
            precision = "unknown"  # e.g. float activations with int8 weights (hybrid kernels)
        compute.append((op["op_name"], precision, k in inside))
    return compute


def measured(
    candidate: np.ndarray, fp32_ref: np.ndarray, fp16_ref: np.ndarray
) -> tuple[str, dict[str, float]]:
    """fp32, fp16 or unknown: which computation the candidate's outputs look like.

    `fp16_gap` is how far fp16 compute moves the outputs on these frames (fp16 reference vs
    fp32 reference). Outputs within a tenth of it from the fp32 reference were computed in fp32;
    outputs off the fp32 reference by the gap's order (a quarter to four times it) were computed
    in reduced precision like fp16 (two fp16 computations round differently, so nearness to the
    fp16 reference itself proves nothing). Anything else, or a gap too small to resolve, is
    unknown.
    """
    candidate, fp32_ref, fp16_ref = (
        np.asarray(a, np.float64) for a in (candidate, fp32_ref, fp16_ref)
    )
    gap = float(np.abs(fp16_ref - fp32_ref).max())
    off = float(np.abs(candidate - fp32_ref).max())
    figures = {
        "n_frames": int(len(candidate)),
        "max_diff_fp32_ref": off,
        "max_diff_fp16_ref": float(np.abs(candidate - fp16_ref).max()),
        "fp16_gap": gap,
    }
    if gap < MIN_GAP:
        return "unknown", figures
    if off <= gap / 10:
        return "fp32", figures
    if gap / 4 <= off <= 4 * gap:
        return "fp16", figures
    return "unknown", figures


Measure = Callable[[], tuple[str, dict[str, float]]]


def litert_result(
    ops: Sequence[dict[str, Any]], dtypes: dict[int, str], measure: Measure | None
) -> dict[str, Any]:
    """The record fields of a LiteRT model: op and tensor types after delegation, and for float
    ops inside a delegate the `measure`d precision (None: no references to measure against)."""
    compute = litert_compute(ops, dtypes)
    notes = []
    half_weights = [
        op
        for op in ops
        if op["op_name"] == "DEQUANTIZE" and dtypes.get(int(op["inputs"][0])) == "float16"
    ]
    if half_weights:
        notes.append(f"{len(half_weights)} float16 constants DEQUANTIZEd to float32")
    resolved = "unknown"
    if any(p == "float32" for _, p, _ in compute):
        if measure is None:
            notes.append("float32 ops inside the delegate: no reference to measure them against")
        else:
            resolved, figures = measure()
            notes.append(
                f"delegated float32 ops measured {resolved}: on {figures['n_frames']} frames "
                f"outputs {figures['max_diff_fp32_ref']:.0e} from the fp32-computed reference, "
                f"fp16 compute moves them {figures['fp16_gap']:.0e}"
            )
    final = [
        (f"{op} (delegated)" if inside else op, resolved if p == "float32" else p)
        for op, p, inside in compute
    ]
    return result(final, "LiteRT ops after delegation", notes)


# ---------------------------------------------------------------- OpenVINO

# Layer types of the CPU plugin's runtime graph that carry the multiply-accumulates (after its
# fusions: MatMul with constant weights becomes FullyConnected).
OPENVINO_COMPUTE = frozenset(
    {"Convolution", "GroupConvolution", "Deconvolution", "FullyConnected", "MatMul"}
)
# Element types as the runtime graph names them (ov.Type's short names).
OPENVINO_PRECISION = {"f32": "fp32", "f16": "fp16", "bf16": "bf16", "i8": "int8", "u8": "int8"}


def openvino_compute(nodes: Iterable[dict[str, str]]) -> list[Compute]:
    """(layer type, precision) of the compute nodes of an OpenVINO runtime graph: each node's
    rt_info (`CompiledModel.get_runtime_model()`), whose `runtimePrecision` is the precision
    its kernel executes in (a u8/i8 Convolution is an integer kernel)."""
    return [
        (node["layerType"], OPENVINO_PRECISION.get(node.get("runtimePrecision", ""), "unknown"))
        for node in nodes
        if node.get("layerType") in OPENVINO_COMPUTE
    ]


def openvino_result(nodes: Sequence[dict[str, str]], hint: str) -> dict[str, Any]:
    """The record fields of an OpenVINO model: its runtime graph's compute nodes, the
    inference precision hint it was compiled with and the kernels the plugin chose."""
    compute = openvino_compute(nodes)
    kernels = sorted(
        {n.get("primitiveType", "?") for n in nodes if n.get("layerType") in OPENVINO_COMPUTE}
    )
    notes = [f"INFERENCE_PRECISION_HINT {hint}", f"kernels {', '.join(kernels) or 'none'}"]
    return result(compute, "OpenVINO CPU runtime graph", notes)


# ---------------------------------------------------------------- TensorRT

_TRT_COMPUTE = re.compile(r"conv|gemm|matrixmultiply|matmul|fullyconnected", re.I)
_TRT_OPAQUE = re.compile(r"myelin|foreignnode|kgen", re.I)


def trt_format_precision(text: str) -> str:
    """fp32/fp16/int8 from a 'Format/Datatype' text ('Row major linear FP32', 'Half',
    'Thirty-two wide channel vectorized row major Int8 format.'); unknown otherwise (e.g. 'N/A
    due to dynamic shapes', BF16, FP8)."""
    lowered = text.lower()
    if "bf16" in lowered or "bfloat" in lowered or "fp8" in lowered:
        return "unknown"
    if "int8" in lowered:
        return "int8"
    if "fp16" in lowered or "half" in lowered:
        return "fp16"
    if "fp32" in lowered or "float" in lowered:
        return "fp32"
    return "unknown"


def tensorrt_compute(engine_info: dict[str, Any]) -> list[Compute]:
    """(layer type, precision) of the convolution and matrix-multiply layers of an engine, from
    `IEngineInspector.get_engine_information(JSON)` of an engine built with DETAILED profiling
    verbosity and inspected with an execution context (else formats read 'N/A').

    A layer computes in its first input's format; layers TensorRT hands to Myelin are opaque
    (their boundary formats do not show the inner kernels) and count as unknown.
    """
    layers = engine_info.get("Layers")
    if not isinstance(layers, list):
        raise ValueError("engine information has no 'Layers' list")
    compute = []
    for layer in layers:
        if not isinstance(layer, dict):  # names only: built without DETAILED verbosity
            compute.append((str(layer), "unknown"))
            continue
        kind = f"{layer.get('LayerType', '')} {layer.get('ParameterType', '')}"
        name = str(layer.get("Name", ""))
        if _TRT_OPAQUE.search(kind) and _TRT_COMPUTE.search(name):
            compute.append((str(layer.get("LayerType")), "unknown"))
        elif _TRT_COMPUTE.search(kind):
            inputs = layer.get("Inputs") or [{}]
            compute.append(
                (
                    str(layer.get("LayerType")),
                    trt_format_precision(str(inputs[0].get("Format/Datatype", ""))),
                )
            )
    return compute
