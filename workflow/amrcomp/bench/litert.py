"""LiteRT (ai_edge_litert Interpreter, default XNNPACK delegate) as a benchmark backend.

Serves through `amrcomp.runtimes.litert_predictor`, the same code that produced the Table IV
accuracies: float frames in, float scores out (an integer model's input is quantised and its
output dequantised inside the call, as ONNX Runtime's QDQ graph does inside its run). The
interpreter is resized only when the batch size changes, so timed calls at a fixed batch never
re-allocate.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from amrcomp import precision
from amrcomp.bench.timing import TimedCall
from amrcomp.runtimes import (
    BackendUnsupported,
    enum_names,
    litert_ops,
    litert_predictor,
    reference_predictor,
    tensor_types,
)

# LiteRT's tensor type names (TfLiteTypeGetName prints the schema's names), as its kernels
# print a type they refuse.
TFLITE_TYPES = tuple(enum_names(schema.TensorType).values())
_TYPE = "|".join(TFLITE_TYPES)
# How LiteRT's kernels name a type they refuse: a check against a required type
# ("input->type != kTfLiteFloat32 (INT32 != FLOAT32)": the first name is the model's), or a
# sentence ("Type FLOAT16 (10) not supported.", "Type INT16 is not currently supported by Conv.",
# "Only float32, uint8 and int8 supported currently, got INT64.", "Unsupported data type: BOOL").
# A mismatch of two tensors ("output->type != input_type (INT32 != FLOAT32)") or a list of the
# accepted types ("input_type == kTfLiteFloat32 || ... was not true") names no refused type.
REFUSED_DTYPE = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        rf"type\s*!=\s*kTfLite\w+\s*\((?P<dtype>{_TYPE})\s*!=\s*(?:{_TYPE})\)",
        rf"\btype:?\s+(?P<dtype>{_TYPE})\b(?:\s*\(\d+\))?\s+(?:is\s+)?(?:currently\s+)?not\s+"
        r"(?:currently\s+)?supported",
        rf"\bsupported\b[^.]*?,\s*got\s+(?P<dtype>{_TYPE})\b",
        rf"\bunsupported\s+(?:data\s+|input\s+|output\s+)?type:?\s+(?P<dtype>{_TYPE})\b",
    )
)
# "Node number 3 (CONV_2D) failed to prepare." (or "to invoke"); a delegate's node
# ("(TfLiteXNNPackDelegate)") is not a builtin op.
REFUSING_OP = re.compile(
    r"Node number \d+ \((?P<op>[A-Z][A-Z0-9_]*)\) failed to (?:prepare|invoke)"
)


def refusal(err: Exception) -> dict[str, str] | None:
    """The op and dtype a LiteRT error names as refused, or None when it names no such pair.

    Only a named op/dtype pair is a property of the runtime ("unsupported"); a message naming
    only an op (an op version this LiteRT lacks, an unresolved custom op), only accepted types,
    or neither is a fault of the file or the setup and must fail the job.
    """
    text = str(err)
    op = REFUSING_OP.search(text)
    dtype = next((m for m in (p.search(text) for p in REFUSED_DTYPE) if m), None)
    if not (dtype and op):
        return None
    return {"op": op.group("op"), "dtype": dtype.group("dtype").upper()}


# Frames the fp16 reference computes on onnx's numpy evaluator (about 0.75 s per Model 2 frame,
# in a job holding every core): 4 frames (44 outputs) separate fp32 from fp16 compute by orders
# of magnitude as 16 did (max differences ~1e-7 vs ~1e-4), at a quarter of the time.
FP16_REFERENCE_FRAMES = 4


class LiteRTRunner:
    """One interpreter with `threads` threads behind `amrcomp.runtimes.litert_predictor`.

    `fp16_reference` is an ONNX file of the same model computing in float16 (the fp16 export):
    with it, float ops hidden inside the XNNPACK delegate get a measured precision.
    """

    clock = (
        "host perf_counter_ns around litert_predictor"
        " (set_tensor + invoke + get_tensor, float in/out)"
    )

    def __init__(self, path: str | Path, threads: int, fp16_reference: str | Path | None = None):
        self.path, self.threads = Path(path), int(threads)
        self.fp16_reference = fp16_reference
        self._predict = self._guard(lambda: litert_predictor(self.path, self.threads))
        self.types = tensor_types(self.path)

    @staticmethod
    def _guard(fn):
        try:
            return fn()
        except (RuntimeError, ValueError) as err:
            refused = refusal(err)
            if refused:
                raise BackendUnsupported(str(err), refused) from err
            raise

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self._guard(lambda: self._predict(x))

    def bind(self, x: np.ndarray) -> TimedCall:
        x = np.ascontiguousarray(x, dtype=np.float32)
        predict = self._predict
        self.predict(x)  # resize + allocate for this batch size outside the timed calls

        def call() -> None:
            predict(x)

        return call

    def measure(self, frames: np.ndarray) -> tuple[str, dict[str, float]]:
        """Which precision the deployed interpreter computes in, from its outputs beside the
        same file on the builtin kernels (float32 compute) and the fp16 reference (the first
        `FP16_REFERENCE_FRAMES` of `frames`)."""
        x = np.ascontiguousarray(frames[:FP16_REFERENCE_FRAMES], dtype=np.float32)
        fp32 = litert_predictor(self.path, self.threads, delegate=False)(x)
        fp16 = reference_predictor(self.fp16_reference)(x)
        return precision.measured(self.predict(x), fp32, fp16)

    def precision(self, frames: np.ndarray) -> dict[str, Any]:
        ops, dtypes = litert_ops(self.path, self.threads)
        measure = (lambda: self.measure(frames)) if self.fp16_reference else None
        return precision.litert_result(ops, dtypes, measure)

    def info(self) -> dict[str, Any]:
        return {
            "num_threads": self.threads,
            "op_resolver": "AUTO (builtin kernels + default XNNPACK delegate)",
            "tensor_types": {k: v for k, v in self.types.items() if k != "constant_bytes"},
        }
