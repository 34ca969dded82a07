"""TensorRT engines from the fp32/fp16/QDQ-int8 ONNX files, and TensorRT as a benchmark backend.

TensorRT 10+ networks are strongly typed: precision comes from the ONNX itself (float16
weights/ops, QuantizeLinear/DequantizeLinear pairs), not from builder flags, so one build path
serves all three dtypes. One optimisation profile covers the configured batch sizes (min 1,
opt = the Table V batch size or the median, max = the largest). tensorrt and cuda-python are
imported lazily so this module (and its pure helpers) import on machines without a GPU; the
rules that call the rest only run after `gpu.require_tensorrt` passed at the start of a run.
"""

from __future__ import annotations

import json
import logging
import statistics
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from amrcomp import precision
from amrcomp.atomic import atomic_path
from amrcomp.bench.timing import TimedCall
from amrcomp.machine import devices, machine_info


class TensorRTError(RuntimeError):
    """Parsing, building or loading an engine failed; the message carries TensorRT's own log."""


# ---------------------------------------------------------------- pure helpers (no GPU needed)


def opt_batch(batch_sizes: Iterable[int], preferred: int | None = None) -> int:
    """The batch TensorRT tunes kernels for: `preferred` when in range, else the lower median."""
    sizes = sorted({int(b) for b in batch_sizes})
    if not sizes or sizes[0] < 1:
        raise ValueError(f"deploy.batch_sizes must be positive integers, got {list(batch_sizes)}")
    if preferred is not None and 1 <= int(preferred) <= sizes[-1]:
        return int(preferred)
    return int(statistics.median_low(sizes))


def profile_shapes(
    batch_sizes: Iterable[int], frame_shape: Sequence[int], preferred: int | None = None
) -> dict[str, tuple[int, ...]]:
    """Optimisation-profile shapes for the input: min batch 1, opt, max = largest batch size."""
    frame = tuple(int(d) for d in frame_shape)
    if any(d < 1 for d in frame):
        raise ValueError(
            f"the ONNX input must have a static frame shape after the batch axis, got {frame}"
        )
    sizes = sorted({int(b) for b in batch_sizes})
    return {
        "min": (1, *frame),
        "opt": (opt_batch(sizes, preferred), *frame),
        "max": (sizes[-1], *frame),
    }


def resolve_shape(shape: Sequence[int], batch: int) -> tuple[int, ...]:
    """An engine tensor shape with its dynamic batch axis (-1) set to `batch`; others are static."""
    dims = [int(d) for d in shape]
    if not dims:
        raise ValueError("a scalar I/O tensor cannot be batched")
    if dims[0] == -1:
        dims[0] = int(batch)
    if any(d < 0 for d in dims):
        raise ValueError(f"tensor shape {tuple(shape)} has dynamic axes beyond the batch axis")
    return tuple(dims)


def tensor_nbytes(shape: Sequence[int], dtype: np.dtype | type) -> int:
    """Bytes of a dense tensor of this shape and dtype (device buffer size)."""
    if any(int(d) < 0 for d in shape):
        raise ValueError(f"cannot size a buffer for unresolved shape {tuple(shape)}")
    return int(np.prod([int(d) for d in shape], dtype=np.int64)) * np.dtype(dtype).itemsize


def buffer_plan(
    tensors: dict[str, tuple[Sequence[int], np.dtype]], max_batch: int
) -> dict[str, dict[str, Any]]:
    """Per I/O tensor: shape at the profile's max batch, dtype and bytes to allocate once."""
    plan = {}
    for name, (shape, dtype) in tensors.items():
        full = resolve_shape(shape, max_batch)
        plan[name] = {
            "shape": full,
            "dtype": np.dtype(dtype).name,
            "nbytes": tensor_nbytes(full, dtype),
        }
    return plan


def chunks(n: int, size: int) -> list[tuple[int, int]]:
    """[start, stop) ranges covering n items in pieces of at most `size` (batches above the max)."""
    if size < 1:
        raise ValueError(f"chunk size must be >= 1, got {size}")
    return [(s, min(s + size, n)) for s in range(0, n, size)]


# ---------------------------------------------------------------- TensorRT / CUDA (lazy imports)


def _trt():
    import tensorrt as trt

    return trt


def _cudart():
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:  # cuda-python < 12.6 layout
        from cuda import cudart
    return cudart


def _cuda(result):
    """Unpack a cuda-python (err, *values) tuple, raising on any CUDA error."""
    cudart = _cudart()
    err, *values = result if isinstance(result, tuple) else (result,)
    if err != cudart.cudaError_t.cudaSuccess:
        raise TensorRTError(f"CUDA runtime error {err}: {cudart.cudaGetErrorString(err)[1]}")
    return values[0] if len(values) == 1 else tuple(values)


def _collecting_logger(trt):
    """An ILogger keeping TensorRT's warnings and errors for the error message and build record."""
    levels = trt.ILogger.Severity
    keep = (levels.INTERNAL_ERROR, levels.ERROR, levels.WARNING)

    class Collect(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)
            self.messages: list[str] = []

        def log(self, severity, msg):
            if severity in keep:
                self.messages.append(f"{severity}: {msg}")

    return Collect()


def build_engine(
    onnx_path: str | Path,
    batch_sizes: Iterable[int],
    preferred_batch: int | None,
    workspace_mb: int,
    device: int = 0,
) -> tuple[bytes, dict[str, Any]]:
    """Parse an ONNX file into a strongly typed network; build a serialised engine (plan bytes)."""
    import time

    trt = _trt()
    _cuda(_cudart().cudaSetDevice(int(device)))
    logger = _collecting_logger(trt)
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise TensorRTError(f"TensorRT cannot parse {onnx_path}: {errors}")
    if network.num_inputs != 1:
        raise TensorRTError(
            f"{onnx_path} has {network.num_inputs} inputs; the benchmark feeds exactly one ('iq')"
        )
    tensor = network.get_input(0)
    shapes = profile_shapes(batch_sizes, tuple(tensor.shape)[1:], preferred_batch)
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mb) << 20)
    # Layer formats in the engine inspector: the evidence of the precision each layer runs in.
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    profile = builder.create_optimization_profile()
    profile.set_shape(tensor.name, shapes["min"], shapes["opt"], shapes["max"])
    config.add_optimization_profile(profile)
    started = time.perf_counter()
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise TensorRTError(
            f"TensorRT failed to build an engine from {onnx_path}: "
            + " | ".join(logger.messages[-20:])
        )
    info = {
        "tensorrt": trt.__version__,
        "strongly_typed": True,
        "input": tensor.name,
        "profile": {k: list(v) for k, v in shapes.items()},
        "workspace_mb": int(workspace_mb),
        "device": int(device),
        "build_seconds": round(time.perf_counter() - started, 3),
        "warnings": logger.messages,
    }
    return bytes(plan), info


def build_plan(
    onnx_path: str | Path,
    plan_path: str | Path,
    settings: dict[str, Any],
    log: logging.Logger | None = None,
) -> dict[str, Any]:
    """Build an engine with `settings` (amrcomp.settings.tensorrt_settings), store it at
    `plan_path`, and return the build record.

    The record names the machine and the GPU that built the plan (`devices`): a plan only loads
    on the TensorRT version and GPU that built it.
    """
    plan, info = build_engine(
        onnx_path,
        settings["batch_sizes"],
        settings["opt_batch"],
        settings["workspace_mb"],
        settings["device"],
    )
    if log:
        log.info(
            "engine built in %.1f s, profile %s, %d bytes",
            info["build_seconds"],
            info["profile"],
            len(plan),
        )
    with atomic_path(plan_path, suffix=".plan") as tmp:
        tmp.write_bytes(plan)
    return {
        "onnx": str(onnx_path),
        "plan_bytes": len(plan),
        "machine": machine_info(),
        "devices": devices(gpu_runtime="TensorRT", gpu_index=int(settings["device"])),
        **info,
    }


class TrtRunner:
    """A deserialised engine, buffers sized for the profile's max batch, one stream, two events."""

    clock = (
        "CUDA events on the stream around host-to-device copy + execute_async_v3"
        " + device-to-host copy"
    )

    def __init__(self, plan_path: str | Path, device: int = 0):
        trt, cudart = _trt(), _cudart()
        self.cudart, self.device = cudart, int(device)
        _cuda(cudart.cudaSetDevice(self.device))
        self.logger = _collecting_logger(trt)
        self.runtime = trt.Runtime(self.logger)
        self.engine = self.runtime.deserialize_cuda_engine(Path(plan_path).read_bytes())
        if self.engine is None:
            raise TensorRTError(
                f"cannot load engine {plan_path} (built by another TensorRT version or GPU?): "
                + " | ".join(self.logger.messages)
            )
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if n not in inputs]
        if len(inputs) != 1 or len(outputs) != 1:
            raise TensorRTError(
                f"engine {plan_path} has inputs {inputs} and outputs {outputs}; "
                "expected one of each"
            )
        self.input, self.output = inputs[0], outputs[0]
        self.max_batch = int(self.engine.get_tensor_profile_shape(self.input, 0)[2][0])
        self.frame = tuple(int(d) for d in self.engine.get_tensor_shape(self.input))[1:]
        self.in_dtype = np.dtype(trt.nptype(self.engine.get_tensor_dtype(self.input)))
        self.out_dtype = np.dtype(trt.nptype(self.engine.get_tensor_dtype(self.output)))
        self.context.set_input_shape(self.input, (self.max_batch, *self.frame))
        out_shape = tuple(self.context.get_tensor_shape(self.output))
        self.buffers = buffer_plan(
            {
                self.input: ((-1, *self.frame), self.in_dtype),
                self.output: ((-1, *out_shape[1:]), self.out_dtype),
            },
            self.max_batch,
        )
        self.device_ptr = {
            name: _cuda(cudart.cudaMalloc(spec["nbytes"])) for name, spec in self.buffers.items()
        }
        for name, ptr in self.device_ptr.items():
            self.context.set_tensor_address(name, int(ptr))
        self.stream = _cuda(cudart.cudaStreamCreate())
        self.start, self.stop = _cuda(cudart.cudaEventCreate()), _cuda(cudart.cudaEventCreate())
        self.batch = None

    def _set_batch(self, batch: int) -> tuple[int, ...]:
        if batch > self.max_batch:
            raise ValueError(
                f"batch {batch} exceeds the engine's profile max {self.max_batch}; "
                "rebuild with it in deploy.batch_sizes"
            )
        if batch != self.batch:
            if not self.context.set_input_shape(self.input, (batch, *self.frame)):
                raise TensorRTError(f"engine rejected input shape {(batch, *self.frame)}")
            self.batch = batch
        return tuple(self.context.get_tensor_shape(self.output))

    def _enqueue(self, x: np.ndarray, out: np.ndarray) -> None:
        cudart, stream = self.cudart, self.stream
        _cuda(
            cudart.cudaMemcpyAsync(
                int(self.device_ptr[self.input]),
                x.ctypes.data,
                x.nbytes,
                cudart.cudaMemcpyKind.cudaMemcpyHostToDevice,
                stream,
            )
        )
        if not self.context.execute_async_v3(int(stream)):
            raise TensorRTError("execute_async_v3 failed: " + " | ".join(self.logger.messages[-5:]))
        _cuda(
            cudart.cudaMemcpyAsync(
                out.ctypes.data,
                int(self.device_ptr[self.output]),
                out.nbytes,
                cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost,
                stream,
            )
        )

    def predict(self, x: np.ndarray) -> np.ndarray:
        results = []
        for start, stop in chunks(len(x), self.max_batch):
            part = np.ascontiguousarray(x[start:stop], dtype=self.in_dtype)
            out = np.empty(self._set_batch(len(part)), dtype=self.out_dtype)
            self._enqueue(part, out)
            _cuda(self.cudart.cudaStreamSynchronize(self.stream))
            results.append(out.astype(np.float32))
        return np.concatenate(results)

    def bind(self, x: np.ndarray) -> TimedCall:
        x = np.ascontiguousarray(x, dtype=self.in_dtype)
        batch = len(x)
        out = np.empty(self._set_batch(batch), dtype=self.out_dtype)
        cudart = self.cudart

        def call() -> float:
            self._set_batch(batch)
            _cuda(cudart.cudaEventRecord(self.start, self.stream))
            self._enqueue(x, out)
            _cuda(cudart.cudaEventRecord(self.stop, self.stream))
            _cuda(cudart.cudaEventSynchronize(self.stop))
            return float(_cuda(cudart.cudaEventElapsedTime(self.start, self.stop))) * 1e-3

        return call

    def precision(self, frames: np.ndarray) -> dict[str, Any]:
        """From the engine inspector's layer formats, with this context's input shape set so
        dynamic-shape formats resolve; `frames` are not needed."""
        trt = _trt()
        inspector = self.engine.create_engine_inspector()
        inspector.execution_context = self.context
        engine_info = json.loads(inspector.get_engine_information(trt.LayerInformationFormat.JSON))
        return precision.result(
            precision.tensorrt_compute(engine_info), "TensorRT engine layers (inspector)"
        )

    def info(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "max_batch": self.max_batch,
            "buffers": {k: {**v, "shape": list(v["shape"])} for k, v in self.buffers.items()},
            "tensorrt": _trt().__version__,
        }

    def close(self) -> None:
        cudart = self.cudart
        for ptr in self.device_ptr.values():
            cudart.cudaFree(ptr)
        cudart.cudaEventDestroy(self.start)
        cudart.cudaEventDestroy(self.stop)
        cudart.cudaStreamDestroy(self.stream)
        self.device_ptr = {}
