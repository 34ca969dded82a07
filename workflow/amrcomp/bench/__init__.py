"""Deployment benchmarks: accuracy over the test split plus throughput/latency, one JSON per run.

A backend is a runner with `predict(x) -> scores` (any batch), `bind(x) -> timed call` (one
fixed batch), `info() -> dict` and a `clock` text; onnxrt, litert and tensorrt provide one each.
The timing methodology is in `amrcomp.bench.timing`. A backend that refuses a dtype on this
hardware raises BackendUnsupported and the record says so (status "unsupported", the backend's
own message) with every figure set to null, so the tables can show it instead of failing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Protocol

from amrcomp.bench.errors import BackendUnsupported
from amrcomp.bench.machine import machine_info
from amrcomp.bench.timing import TimedCall, measure
from amrcomp.evaluate import evaluate
from amrcomp.frames import Split
from amrcomp.sizes import file_sizes

__all__ = ["BackendUnsupported", "RECORD_KEYS", "open_runner", "run_benchmark"]

BACKENDS = ("onnxruntime", "litert", "tensorrt")
SETTINGS_KEYS = ("batch_sizes", "warmup", "repeats", "min_seconds", "threads", "eval_batch_size")
# Present in every record, ok or unsupported (figures are null when unsupported).
RECORD_KEYS = (
    "model", "variant", "dtype", "backend", "status", "message", "accuracy", "accuracy_pct",
    "throughput_fps", "latency_ms", "timing", "threads", "batch_sizes", "size_bytes", "size_zip_bytes",
    "machine", "backend_info", "deployed_file",
)


class Runner(Protocol):
    clock: str

    def predict(self, x): ...

    def bind(self, x) -> TimedCall: ...

    def info(self) -> dict[str, Any]: ...


def open_runner(backend: str, path: str | Path, threads: int, device: int = 0) -> Runner:
    """The runner of one backend over one deployed file."""
    if backend == "onnxruntime":
        from amrcomp.bench.onnxrt import OrtRunner

        return OrtRunner(path, threads)
    if backend == "litert":
        from amrcomp.bench.litert import LiteRTRunner

        return LiteRTRunner(path, threads)
    if backend == "tensorrt":
        from amrcomp.bench.tensorrt import TrtRunner

        return TrtRunner(path, device)
    raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")


def check_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The deploy.* settings a benchmark needs, with defaults for the optional ones."""
    missing = [k for k in ("batch_sizes", "warmup", "repeats") if k not in settings]
    if missing:
        raise ValueError(f"deploy settings lack {missing}; see config/config.yaml deploy:")
    out = {"min_seconds": 0.0, "threads": 1, "eval_batch_size": 1024, **{k: settings[k] for k in SETTINGS_KEYS if k in settings}}
    out["batch_sizes"] = sorted({int(b) for b in out["batch_sizes"]})
    return out


def run_benchmark(open_fn: Callable[[], Runner], deployed: str | Path, test: Split, classes: list[str], settings: dict[str, Any], labels: dict[str, str], log=None, extra_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate and time one deployed model; `labels` are model/variant/dtype/backend."""
    settings = check_settings(settings)
    record: dict[str, Any] = {
        **labels,
        "threads": int(settings["threads"]),
        "batch_sizes": settings["batch_sizes"],
        "deployed_file": str(deployed),
        "machine": machine_info(),
        **file_sizes(deployed),
    }
    runner = None
    try:
        runner = open_fn()
        record["backend_info"] = {**runner.info(), **(extra_info or {})}
        evaluation = evaluate(runner.predict, test, classes, int(settings["eval_batch_size"]))
        if log:
            log.info("accuracy %.2f %% on %d test frames", evaluation["accuracy_pct"], evaluation["n_frames"])
        frames = test.model_input(0, max(settings["batch_sizes"]))
        # Batch 1 is always timed: it gives the latency percentiles.
        timing = measure(runner.bind, frames, sorted({1, *settings["batch_sizes"]}), settings["warmup"], settings["repeats"], settings["min_seconds"], runner.clock, log)
    except BackendUnsupported as err:
        if log:
            log.warning("%s cannot run this model: %s", labels.get("backend"), err)
        return unsupported_record(record, str(err), settings, extra_info)
    finally:
        if runner is not None and hasattr(runner, "close"):
            runner.close()
    return {**evaluation, **record, **timing, "status": "ok", "message": None}


def unsupported_record(record: dict[str, Any], message: str, settings: dict[str, Any], extra_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """A record for a backend that refused the model: same keys, figures null, the backend's message."""
    return {
        "backend_info": dict(extra_info or {}),
        **record,
        "status": "unsupported",
        "message": message,
        "accuracy": None,
        "accuracy_pct": None,
        "throughput_fps": None,
        "latency_ms": None,
        "timing": {"warmup": int(settings["warmup"]), "repeats": int(settings["repeats"]), "min_seconds": float(settings["min_seconds"]), "statistic": "median"},
    }
