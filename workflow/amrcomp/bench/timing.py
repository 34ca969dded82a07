"""How every backend is timed: the methodology behind `throughput_fps` and `latency_ms`.

- Input: real test frames (tiled when the split is smaller than the batch), converted to the
  backend's input type and bound before timing; a timed call is what serving one batch costs
  from host memory to host memory (ONNX Runtime `run`, LiteRT set_tensor+invoke+get_tensor,
  TensorRT copy in + execute_async_v3 + copy out on one stream).
- Warm-up: `warmup` untimed calls per batch size (allocation, weight packing, lazy init).
- Repeats: calls are timed one at a time and repeated until at least `repeats` calls AND at
  least `min_seconds` of timed calls were made, so fast configurations get enough samples.
- Clock: host monotonic clock (perf_counter_ns) unless the backend times itself (TensorRT:
  CUDA events recorded on the stream) and returns the seconds from the call.
- Report: medians, not means, so one preempted call on a shared machine does not move the
  figure: throughput = batch / median seconds per call; at batch 1 also the p50/p90/p99
  latency in milliseconds.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterable

import numpy as np

TimedCall = Callable[[], "float | None"]
PERCENTILES = (50, 90, 99)


def time_calls(call: TimedCall, warmup: int, repeats: int, min_seconds: float) -> np.ndarray:
    """Seconds per timed call: `warmup` untimed calls, then >= repeats calls and >= min_seconds."""
    if repeats < 1:
        raise ValueError(f"deploy.repeats must be >= 1, got {repeats}")
    for _ in range(int(warmup)):
        call()
    times: list[float] = []
    total = 0.0
    while len(times) < repeats or total < min_seconds:
        start = time.perf_counter_ns()
        device = call()
        elapsed = (time.perf_counter_ns() - start) * 1e-9 if device is None else float(device)
        if not elapsed > 0:
            raise ValueError(f"a timed call reported {elapsed} s; timings must be positive")
        times.append(elapsed)
        total += elapsed
    return np.asarray(times, dtype=np.float64)


def latency_ms(times: np.ndarray) -> dict[str, float]:
    """p50/p90/p99 of per-call seconds, in milliseconds."""
    return {f"p{p}": float(np.percentile(times, p) * 1e3) for p in PERCENTILES}


def summarise(
    batch_times: dict[int, np.ndarray], warmup: int, repeats: int, min_seconds: float, clock: str
) -> dict[str, Any]:
    """The timing part of a benchmark record from the per-call seconds of each batch size."""
    if not batch_times:
        raise ValueError("no batch sizes were timed (deploy.batch_sizes is empty)")
    record: dict[str, Any] = {
        "throughput_fps": {str(b): float(b / np.median(t)) for b, t in sorted(batch_times.items())},
        "latency_ms": latency_ms(batch_times[1]) if 1 in batch_times else None,
        "timing": {
            "warmup": int(warmup),
            "repeats": int(repeats),
            "min_seconds": float(min_seconds),
            "statistic": "median",
            "clock": clock,
            "calls": {str(b): int(len(t)) for b, t in sorted(batch_times.items())},
            "seconds_timed": {str(b): float(t.sum()) for b, t in sorted(batch_times.items())},
            "median_ms": {
                str(b): float(np.median(t) * 1e3) for b, t in sorted(batch_times.items())
            },
        },
    }
    return record


def batch_input(x: np.ndarray, batch: int) -> np.ndarray:
    """The first `batch` frames of `x`, tiled when `x` has fewer."""
    if len(x) == 0:
        raise ValueError("no frames to time with (empty test split)")
    reps = -(-batch // len(x))
    return np.ascontiguousarray(np.concatenate([x] * reps)[:batch] if reps > 1 else x[:batch])


def measure(
    bind: Callable[[np.ndarray], TimedCall],
    frames: np.ndarray,
    batch_sizes: Iterable[int],
    warmup: int,
    repeats: int,
    min_seconds: float,
    clock: str,
    log=None,
) -> dict[str, Any]:
    """Time a backend at each batch size; `bind(x)` fixes a batch and returns its timed call."""
    batch_times: dict[int, np.ndarray] = {}
    for batch in sorted(set(int(b) for b in batch_sizes)):
        times = time_calls(bind(batch_input(frames, batch)), warmup, repeats, min_seconds)
        batch_times[batch] = times
        if log:
            log.info(
                "batch %d: %d calls, median %.3f ms, %.0f frames/s",
                batch,
                len(times),
                np.median(times) * 1e3,
                batch / np.median(times),
            )
    return summarise(batch_times, warmup, repeats, min_seconds, clock)
