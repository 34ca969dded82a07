"""ONNX Runtime CPU provider as a benchmark backend (also the predictor the export checks use)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from amrcomp.bench.errors import BackendUnsupported
from amrcomp.bench.timing import TimedCall


def _not_implemented() -> type[Exception]:
    from onnxruntime.capi.onnxruntime_pybind11_state import NotImplemented as OrtNotImplemented

    return OrtNotImplemented


def optimized_graph(path: str | Path) -> dict[str, Any]:
    """Operators and weight types of the graph ORT actually runs after optimisation.

    Shows whether int8 QDQ pairs were fused into integer kernels (QLinearConv/QGemm) and
    whether a float16 model kept float16 weights or was cast back to float32 by the CPU provider.
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
    return {"ops": dict(sorted(ops.items())), "weight_tensor_types": dict(sorted(weight_types.items()))}


class OrtRunner:
    """One CPU InferenceSession: full graph optimisation, `threads` intra-op threads, sequential execution.

    A kernel the CPU provider lacks for a dtype (ORT's NOT_IMPLEMENTED) becomes BackendUnsupported
    carrying ORT's own message; every other error propagates.
    """

    clock = "host perf_counter_ns around InferenceSession.run"

    def __init__(self, path: str | Path, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        with tempfile.TemporaryDirectory(prefix="amrcomp-ort-") as tmp:
            options.optimized_model_filepath = str(Path(tmp) / "optimized.onnx")
            options.log_severity_level = 3  # the NCHWc "hardware specific" serialisation warning is expected here
            try:
                self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            except _not_implemented() as err:
                raise BackendUnsupported(str(err)) from err
            self.optimized = optimized_graph(options.optimized_model_filepath)
        self.input = self.session.get_inputs()[0].name
        self.output = self.session.get_outputs()[0].name
        self.threads = int(threads)

    def _run(self, x: np.ndarray) -> np.ndarray:
        try:
            return self.session.run([self.output], {self.input: x})[0]
        except _not_implemented() as err:
            raise BackendUnsupported(str(err)) from err

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self._run(np.ascontiguousarray(x, dtype=np.float32)), dtype=np.float32)

    def bind(self, x: np.ndarray) -> TimedCall:
        x = np.ascontiguousarray(x, dtype=np.float32)
        feeds, outputs, run = {self.input: x}, [self.output], self.session.run

        def call() -> None:
            run(outputs, feeds)

        return call

    def info(self) -> dict[str, Any]:
        return {
            "providers": self.session.get_providers(),
            "graph_optimization_level": "ORT_ENABLE_ALL",
            "intra_op_num_threads": self.threads,
            "inter_op_num_threads": 1,
            "execution_mode": "sequential",
            "optimized_graph": self.optimized,
        }


def onnx_predictor(path: str | Path, threads: int):
    """A `predict(x) -> scores` callable over an ONNX file on the CPU provider."""
    return OrtRunner(path, threads).predict
