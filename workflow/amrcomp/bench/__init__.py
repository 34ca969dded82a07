"""Deployment benchmarks: accuracy over the test split plus throughput/latency, one JSON per run.

A backend is a runner with `predict(x) -> scores` (any batch), `bind(x) -> timed call` (one
fixed batch), `precision(frames) -> dict` (the precision it executed in, from the runtime's own
evidence: `amrcomp.precision`), `info() -> dict` and a `clock` text; onnxrt, litert, openvino
and tensorrt provide one each. The timing methodology is in `amrcomp.bench.timing`. A backend
that refuses a dtype on this hardware raises `amrcomp.runtimes.BackendUnsupported` and the
record says so (status "unsupported", the backend's own message and, where it names them, the
refused op and dtype) with every figure set to null, so the tables can show it instead of
failing. A precision the runtime or CPU does not offer at all (bf16 but on OpenVINO with a
BF16-capable CPU: `amrcomp.bench.offers`) is recorded as "not_offered" with the reason, before
anything is loaded.

Accuracy is scored once per file and runtime: a LiteRT row reuses the file's eval_tflite
record and an ONNX Runtime row its export check's evaluation (`reused_evaluation`), so a timing
slot is spent on timing; OpenVINO and TensorRT rows score the split themselves.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Protocol

from amrcomp import precision, records
from amrcomp.atomic import read_json
from amrcomp.bench.offers import NOT_OFFERED, bf16_offer
from amrcomp.bench.timing import TimedCall, measure
from amrcomp.frames import Split, load_split, read_manifest
from amrcomp.machine import devices, machine_info
from amrcomp.runtimes import BackendUnsupported
from amrcomp.scoring import SUMMARY_KEYS, evaluate, frames_checksum
from amrcomp.sizes import file_sizes
from amrcomp.variants import BACKENDS

__all__ = ["BackendUnsupported", "RECORD_KEYS", "benchmark_file", "open_runner", "run_benchmark"]

SETTINGS_KEYS = ("batch_sizes", "warmup", "repeats", "min_seconds", "threads", "eval_batch_size")
# Present in every record, ok, unsupported or not_offered (figures are null unless ok).
RECORD_KEYS = (
    *records.BENCH_KEYS,  # what the tables read, and what the benchmark adds:
    *("accuracy", "accuracy_pct", "throughput_fps", "latency_ms", "timing", "threads"),
    *("batch_sizes", "backend_info", "deployed_file", "devices", "evaluation_source"),
    *("executed_precision", "precision_evidence", "compute_ops"),
)
# Test frames a runner may measure its precision on (LiteRT compares the first few with fp32-
# and fp16-computed references: `amrcomp.bench.litert.FP16_REFERENCE_FRAMES`).
PRECISION_FRAMES = 16
# Backends that compute on a GPU (CUDA device `device`), by the name the records give them;
# the others run on the CPU (OpenVINO: its CPU plugin).
GPU_RUNTIMES = {"tensorrt": "TensorRT"}


class Runner(Protocol):
    clock: str

    def predict(self, x): ...

    def bind(self, x) -> TimedCall: ...

    def precision(self, frames) -> dict[str, Any]: ...

    def info(self) -> dict[str, Any]: ...


def open_runner(
    backend: str,
    path: str | Path,
    threads: int,
    device: int = 0,
    fp16_reference: str | Path | None = None,
    dtype: str = "fp32",
) -> Runner:
    """The runner of one backend over one deployed file (`fp16_reference`: see LiteRTRunner;
    `dtype`: the row's deployment dtype, which sets OpenVINO's inference precision)."""
    if backend == "onnxruntime":
        from amrcomp.bench.onnxrt import OrtRunner

        return OrtRunner(path, threads)
    if backend == "litert":
        from amrcomp.bench.litert import LiteRTRunner

        return LiteRTRunner(path, threads, fp16_reference)
    if backend == "openvino":
        from amrcomp.bench.openvino import OpenVINORunner

        return OpenVINORunner(path, threads, dtype)
    if backend == "tensorrt":
        from amrcomp.bench.tensorrt import TrtRunner

        return TrtRunner(path, device)
    raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")


def check_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The deploy.* settings a benchmark needs (`amrcomp.settings.bench_settings`), batch sizes
    sorted and distinct; the config schema holds their defaults, so none may be missing."""
    missing = [k for k in SETTINGS_KEYS if k not in settings]
    if missing:
        raise ValueError(f"deploy settings lack {missing}; see config/schema.yaml deploy:")
    out = {k: settings[k] for k in SETTINGS_KEYS}
    out["batch_sizes"] = sorted({int(b) for b in out["batch_sizes"]})
    return out


def run_benchmark(
    open_fn: Callable[[], Runner],
    deployed: str | Path,
    test: Split,
    classes: list[str],
    settings: dict[str, Any],
    labels: dict[str, str],
    log: logging.Logger | None = None,
    extra_info: dict[str, Any] | None = None,
    device: int = 0,
    evaluation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Evaluate and time one deployed model; `labels` are model/variant/dtype/backend, `device`
    the CUDA device of a GPU backend, `evaluation` the file's evaluation on this runtime when
    an earlier job scored it (`reused_evaluation`), else it is scored here."""
    settings = check_settings(settings)
    record = base_record(deployed, settings, labels, device)
    runner = None
    try:
        runner = open_fn()
        record["backend_info"] = {**runner.info(), **(extra_info or {})}
        if evaluation is None:
            evaluation = evaluate(runner.predict, test, classes, int(settings["eval_batch_size"]))
        else:
            evaluation = dict(evaluation)
            record["evaluation_source"] = evaluation.pop("evaluation_source")
        if log:
            log.info(
                "accuracy %.2f %% on %d test frames (%s)",
                evaluation["accuracy_pct"],
                evaluation["n_frames"],
                record["evaluation_source"] or "scored here",
            )
        executed = runner.precision(test.model_input(0, PRECISION_FRAMES))
        if log:
            log.info(
                "executed precision %s (%s)",
                executed["executed_precision"],
                executed["precision_evidence"],
            )
        frames = test.model_input(0, max(settings["batch_sizes"]))
        # Batch 1 is always timed: it gives the latency percentiles.
        timing = measure(
            runner.bind,
            frames,
            sorted({1, *settings["batch_sizes"]}),
            settings["warmup"],
            settings["repeats"],
            settings["min_seconds"],
            runner.clock,
            log,
        )
    except BackendUnsupported as err:
        if log:
            log.warning("%s cannot run this model: %s", labels.get("backend"), err)
        return unsupported_record(record, err, settings, extra_info)
    finally:
        if runner is not None and hasattr(runner, "close"):
            runner.close()
    return {**evaluation, **record, **timing, **executed, "status": "ok", "message": None}


def reused_evaluation(path: str | Path, test: Split) -> dict[str, Any] | None:
    """The evaluation of the same file on the same runtime an earlier job wrote (an eval_tflite
    record, or an ONNX export check's `evaluation`), with `evaluation_source`; None if that
    job recorded none. Refuses one of other frames than `test`."""
    data = read_json(path)
    data = data.get("evaluation") if "check" in data else data
    if not data:
        return None
    missing = [key for key in SUMMARY_KEYS if key not in data]
    if missing:
        raise ValueError(f"{path} holds no whole evaluation (lacks {missing}); delete it and rerun")
    if data["frames_sha256"] != frames_checksum(test.labels, test.snr):
        raise ValueError(f"{path} scored other test frames than this benchmark's; rerun it")
    return {**{key: data[key] for key in SUMMARY_KEYS}, "evaluation_source": str(path)}


def base_record(
    deployed: str | Path | None, settings: dict[str, Any], labels: dict[str, str], device: int = 0
) -> dict[str, Any]:
    """What every record says whatever its status: labels, settings, machine, the devices the
    backend computes on (`amrcomp.machine.devices`), file sizes (null: no file was made)."""
    return {
        **labels,
        "threads": int(settings["threads"]),
        "batch_sizes": settings["batch_sizes"],
        "deployed_file": None if deployed is None else str(deployed),
        "machine": machine_info(),
        "devices": backend_devices(labels["backend"], device),
        **(file_sizes(deployed) if deployed else {"size_bytes": None, "size_zip_bytes": None}),
        "evaluation_source": None,
    }


def backend_devices(backend: str, device: int = 0) -> dict[str, Any]:
    """Where a backend computes on this host: CUDA device `device` for a GPU backend, else the
    CPU."""
    return devices(gpu_runtime=GPU_RUNTIMES.get(backend), gpu_index=device)


def no_figures(settings: dict[str, Any]) -> dict[str, Any]:
    """The measurement fields of a record that measured nothing: null, with the settings."""
    return {
        "accuracy": None,
        "accuracy_pct": None,
        "throughput_fps": None,
        "latency_ms": None,
        "timing": {
            "warmup": int(settings["warmup"]),
            "repeats": int(settings["repeats"]),
            "min_seconds": float(settings["min_seconds"]),
            "statistic": "median",
        },
    }


def not_offered_record(
    deployed: str | Path | None,
    settings: dict[str, Any],
    labels: dict[str, str],
    reason: str,
    device: int = 0,
) -> dict[str, Any]:
    """A record for a precision the runtime or CPU does not offer: nothing was run (`devices`
    says where it would have)."""
    settings = check_settings(settings)
    return {
        "backend_info": {},
        **base_record(deployed, settings, labels, device),
        "status": NOT_OFFERED,
        "message": reason,
        "refused": None,
        **precision.not_run(f"{labels['backend']} does not offer {labels['dtype']} here"),
        **no_figures(settings),
    }


def unsupported_record(
    record: dict[str, Any],
    err: BackendUnsupported,
    settings: dict[str, Any],
    extra_info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A record for a backend that refused the model: same keys, figures null, its message and
    the refused op and dtype (null where the message does not name them)."""
    executed = precision.not_run(f"{record['backend']} refused the model")
    return {
        "backend_info": dict(extra_info or {}),
        **record,
        "status": "unsupported",
        "message": str(err),
        "refused": err.refused,
        **executed,
        **no_figures(settings),
    }


def benchmark_file(
    deployed: str | Path | None,
    data_dir: str | Path,
    settings: dict[str, Any],
    device: int,
    labels: dict[str, str],
    build: str | Path | None = None,
    log: logging.Logger | None = None,
    fp16_reference: str | Path | None = None,
    scored: str | Path | None = None,
    offer: str | Path | None = None,
) -> dict[str, Any]:
    """The record of one deployed file on the backend `labels["backend"]`, over the test split.

    `build` is a TensorRT engine's build record (the plan's provenance), kept in backend_info;
    `fp16_reference` the fp16 ONNX export LiteRT measures its float precision against; `scored`
    an earlier job's record of the file's evaluation on this runtime (`reused_evaluation`).
    The test split is read into memory: timed batches must not page in from disk. A bf16 row
    first asks whether the backend offers bf16 here, and records why not without loading.
    `offer` (with no `deployed` file) is the record of a QAT .tflite tf2onnx could not convert
    (`amrcomp.export.qat.offer`): the row is not offered, for its reason.
    """
    backend = labels["backend"]
    if offer is not None:
        found = read_json(offer)
        if found.get("offered") is not False or not found.get("reason"):
            raise ValueError(f"{offer} offers an ONNX copy or gives no reason; delete it and rerun")
        if log:
            log.info("%s not offered: %s", backend, found["reason"])
        return not_offered_record(None, settings, labels, found["reason"], device)
    if labels["dtype"] == "bf16":
        capabilities = None
        if backend == "openvino":
            from amrcomp.bench.openvino import cpu_capabilities

            capabilities = cpu_capabilities()
        offered, reason = bf16_offer(backend, capabilities)
        if log:
            log.info("bf16 on %s %s: %s", backend, "offered" if offered else "not offered", reason)
        if not offered:
            return not_offered_record(deployed, settings, labels, reason, device)
    classes = read_manifest(data_dir)["classes"]
    test = load_split(data_dir, "test", mmap=False)
    extra = {"build": read_json(build)} if build else {}
    if log:
        log.info(
            "%s on %s: %d test frames, batch sizes %s, %d threads",
            backend,
            deployed,
            len(test),
            settings["batch_sizes"],
            settings["threads"],
        )
    record = run_benchmark(
        lambda: open_runner(
            backend, deployed, settings["threads"], device, fp16_reference, labels["dtype"]
        ),
        deployed,
        test,
        classes,
        settings,
        labels,
        log,
        extra,
        device,
        reused_evaluation(scored, test) if scored else None,
    )
    if log:
        message = f": {record['message']}" if record["message"] else ""
        log.info("status %s%s", record["status"], message)
    return record
