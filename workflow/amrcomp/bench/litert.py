"""LiteRT (ai_edge_litert Interpreter, default XNNPACK delegate) as a benchmark backend.

Serves through `amrcomp.runtimes.litert_predictor`, the same code that produced the Table IV
accuracies: float frames in, float scores out (an integer model's input is quantised and its
output dequantised inside the call, as ONNX Runtime's QDQ graph does inside its run). The
interpreter is resized only when the batch size changes, so timed calls at a fixed batch never
re-allocate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from amrcomp.bench.timing import TimedCall
from amrcomp.runtimes import BackendUnsupported, litert_predictor, tensor_types

# Texts with which the LiteRT runtime refuses a model it has no kernel for.
UNSUPPORTED_MARKERS = (
    "didn't find op for builtin opcode",
    "encountered unresolved custom op",
    "is not supported",
    "not implemented",
)


def is_refusal(err: Exception) -> bool:
    """Whether a LiteRT error says the runtime lacks a kernel/op (not a bug in the caller)."""
    return any(marker in str(err).lower() for marker in UNSUPPORTED_MARKERS)


class LiteRTRunner:
    """One interpreter with `threads` threads behind `amrcomp.runtimes.litert_predictor`."""

    clock = (
        "host perf_counter_ns around litert_predictor"
        " (set_tensor + invoke + get_tensor, float in/out)"
    )

    def __init__(self, path: str | Path, threads: int):
        self.path, self.threads = Path(path), int(threads)
        self._predict = self._guard(lambda: litert_predictor(self.path, self.threads))
        self.types = tensor_types(self.path)

    @staticmethod
    def _guard(fn):
        try:
            return fn()
        except (RuntimeError, ValueError) as err:
            if is_refusal(err):
                raise BackendUnsupported(str(err)) from err
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

    def info(self) -> dict[str, Any]:
        return {
            "num_threads": self.threads,
            "op_resolver": "AUTO (builtin kernels + default XNNPACK delegate)",
            "tensor_types": {k: v for k, v in self.types.items() if k != "constant_bytes"},
        }
