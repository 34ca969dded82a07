"""ONNX Runtime's CPU provider as a benchmark backend: the export checks' session, timed."""

from __future__ import annotations

from typing import Any

import numpy as np

from amrcomp import precision
from amrcomp.bench.timing import TimedCall
from amrcomp.runtimes import OrtSession


class OrtRunner(OrtSession):
    """The session `amrcomp.runtimes` opens for the export checks, plus a timed call and info."""

    clock = "host perf_counter_ns around InferenceSession.run"

    def bind(self, x: np.ndarray) -> TimedCall:
        x = np.ascontiguousarray(x, dtype=np.float32)
        feeds, outputs, run = {self.input: x}, [self.output], self.session.run

        def call() -> None:
            run(outputs, feeds)

        return call

    def precision(self, frames: np.ndarray) -> dict[str, Any]:
        """From the optimised graph ORT runs (its Casts and weight types show a float16 file
        computing in float32); the graph is definitive, so `frames` are not needed."""
        graph = self.optimized
        notes = [f"{graph['ops']['Cast']} Cast nodes"] if "Cast" in graph["ops"] else []
        weights = ", ".join(f"{n} {t}" for t, n in graph["weight_tensor_types"].items())
        notes.append(f"weight tensors {weights or 'none'}")
        return precision.result(graph["compute"], "ONNX Runtime optimised graph", notes)

    def info(self) -> dict[str, Any]:
        return {
            "providers": self.session.get_providers(),
            "graph_optimization_level": "ORT_ENABLE_ALL",
            "intra_op_num_threads": self.threads,
            "inter_op_num_threads": 1,
            "execution_mode": "sequential",
            "optimized_graph": self.optimized,
        }
