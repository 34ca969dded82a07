"""OpenVINO's CPU plugin as a benchmark backend for the ONNX files.

Compiled for latency the way the other CPU rows run: one stream, `threads` inference threads,
one synchronous infer request. The test split is scored on the exported dynamic-batch model;
each timed batch size gets its own static-shape compile of the same file and properties, made
before timing (OpenVINO's CPU plugin runs static shapes faster, as a user serving a fixed batch
would compile it; LiteRT is likewise resized before timing). The inference precision is always
set: OpenVINO switches an fp32 model to bf16 by itself on CPUs with AVX-512 BF16 or AMX, so
fp32, fp16 and int8 rows ask for f32 (an int8 QDQ file still runs its integer kernels) and
only the bf16 row asks for bf16. Both are read back from the compiled model, and the runtime
graph says what each compute node executed in (`amrcomp.precision.openvino_result`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from amrcomp import precision
from amrcomp.bench.timing import TimedCall
from amrcomp.runtimes import BackendUnsupported

DEVICE = "CPU"
# The ov.Type name of the INFERENCE_PRECISION_HINT each deployment dtype compiles with.
HINTS = {"fp32": "f32", "fp16": "f32", "int8": "f32", "bf16": "bf16"}
# Properties read back from the compiled model into the record (what actually applies).
REPORTED = (
    "INFERENCE_PRECISION_HINT",
    "INFERENCE_NUM_THREADS",
    "NUM_STREAMS",
    "PERFORMANCE_HINT",
    "EXECUTION_MODE_HINT",
    "ENABLE_CPU_PINNING",
    "ENABLE_HYPER_THREADING",
)
# The CPU plugin's text for an operation it has no kernel for ("Unsupported operation of type:
# Foo name: bar"); an ONNX op the frontend cannot convert is a fault of the file and propagates.
REFUSING_OP = re.compile(r"Unsupported operation of type:\s*(?P<op>\w+)")


def cpu_capabilities() -> list[str]:
    """OPTIMIZATION_CAPABILITIES of OpenVINO's CPU plugin here (BF16, INT8, FP32, ...)."""
    import openvino as ov

    return [str(c) for c in ov.Core().get_property(DEVICE, "OPTIMIZATION_CAPABILITIES")]


def compile_config(threads: int, hint: str) -> dict[str, Any]:
    """The compile properties: latency-oriented, `threads` threads, the precision `hint`."""
    return {
        "PERFORMANCE_HINT": "LATENCY",
        "NUM_STREAMS": 1,
        "INFERENCE_NUM_THREADS": int(threads),
        "INFERENCE_PRECISION_HINT": hint,
    }


def refusal(err: Exception) -> dict[str, Any] | None:
    """The op the CPU plugin has no kernel for, or None when the error names none."""
    match = REFUSING_OP.search(str(err))
    return {"op": match.group("op"), "dtype": None} if match else None


class OpenVINORunner:
    """One compiled model and one infer request over an ONNX file, at a precision hint."""

    clock = "host perf_counter_ns around InferRequest.infer (input shared, output copied)"

    def __init__(self, path: str | Path, threads: int, dtype: str = "fp32"):
        import openvino as ov

        self.path, self.threads, self.hint = Path(path), int(threads), HINTS[dtype]
        self.core = ov.Core()
        try:
            self.compiled = self.core.compile_model(
                self.core.read_model(str(self.path)),
                DEVICE,
                compile_config(self.threads, self.hint),
            )
        except RuntimeError as err:
            refused = refusal(err)
            if refused:
                raise BackendUnsupported(str(err), refused) from err
            raise
        self.request = self.compiled.create_infer_request()
        self.static: dict[int, Any] = {}  # batch -> infer request of its static-shape compile

    def property(self, name: str) -> str:
        """A compiled-model property as text ('f32', 'bf16', '2', 'LATENCY', ...)."""
        value = self.compiled.get_property(name)
        return value.get_type_name() if hasattr(value, "get_type_name") else str(value)

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        return np.array(self.request.infer({0: x}, share_inputs=True)[0], dtype=np.float32)

    def bind(self, x: np.ndarray) -> TimedCall:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if len(x) not in self.static:
            model = self.core.read_model(str(self.path))
            model.reshape(list(x.shape))
            config = compile_config(self.threads, self.hint)
            compiled = self.core.compile_model(model, DEVICE, config)
            self.static[len(x)] = compiled.create_infer_request()
        infer, feeds = self.static[len(x)].infer, {0: x}

        def call() -> None:
            infer(feeds, share_inputs=True)

        return call

    def runtime_nodes(self) -> list[dict[str, str]]:
        """rt_info of every node of the runtime graph (layerType, runtimePrecision, ...)."""
        nodes = []
        for op in self.compiled.get_runtime_model().get_ordered_ops():
            info = op.get_rt_info()
            nodes.append({key: info[key].astype(str) for key in info.keys()})
        return nodes

    def precision(self, frames: np.ndarray) -> dict[str, Any]:
        """From the compiled model's runtime graph, which the plugin reports per node; the
        graph is definitive, so `frames` are not needed."""
        return precision.openvino_result(self.runtime_nodes(), self.property(REPORTED[0]))

    def info(self) -> dict[str, Any]:
        import openvino as ov

        return {
            "device": DEVICE,
            "device_name": str(self.core.get_property(DEVICE, "FULL_DEVICE_NAME")),
            "optimization_capabilities": cpu_capabilities(),
            "requested": compile_config(self.threads, self.hint),
            "compiled": {name: self.property(name) for name in REPORTED},
            "timed": "a static-shape compile per batch size, same properties",
            "openvino": ov.get_version(),
        }
