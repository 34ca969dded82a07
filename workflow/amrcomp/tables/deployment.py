"""Table V: deployment results per model, variant, dtype and backend from the benchmarks.

The benchmark records carry the measurements; the Keras evaluations give the operation counts
and the prune summaries the parameters before pruning (for the achieved sparsity).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from amrcomp import paper, records, variants
from amrcomp.tables.build import ops_summary, paper_name, require_keras_eval, sparsity_pct
from amrcomp.tables.schema import frame


def bench_measurements(record: dict[str, Any], batch_size: int, path: str | Path) -> dict[str, Any]:
    """Accuracy, sizes, throughput at `batch_size` and at the best batch size, batch-1 latency,
    device.

    An unsupported record (the backend refused this dtype here) keeps its sizes and device and
    gets missing measurements with the backend's message as the note.
    """
    row: dict[str, Any] = {"device": device_name(record, path), "note": record["message"]}
    row.update(records.sizes_mb(record))
    if record["status"] != "ok":
        row["note"] = record["message"] or "unsupported (no message recorded)"
        return row
    fps = {int(b): float(v) for b, v in record["throughput_fps"].items()}
    if batch_size not in fps:
        raise records.RecordError(
            f"{path}: throughput_fps has no batch size {batch_size} (measured: {sorted(fps)}); "
            "set tables.batch_size to one of deploy.batch_sizes"
        )
    latency = record["latency_ms"]
    if not isinstance(latency, dict):
        raise records.RecordError(
            f"{path}: latency_ms must hold the batch-1 percentiles p50/p90/p99, got {latency!r}; "
            "re-run the benchmark"
        )
    records.require(latency, ("p50", "p90", "p99"), path, "latency_ms")
    best = max(fps, key=fps.get)
    row.update(
        accuracy_pct=record["accuracy_pct"],
        throughput_fps=fps[batch_size],
        best_batch_size=best,
        best_throughput_fps=fps[best],
        latency_p50_ms=latency["p50"],
        latency_p90_ms=latency["p90"],
        latency_p99_ms=latency["p99"],
    )
    return row


def device_name(record: dict[str, Any], path: str | Path) -> str:
    """The GPU's name for TensorRT (the configured device), else the CPU model."""
    machine = record.get("machine")
    if not isinstance(machine, dict):
        raise records.RecordError(
            f"{path}: machine must describe the benchmark host, got {machine!r}; "
            "re-run the benchmark"
        )
    if record["backend"] == "tensorrt":
        gpus = machine.get("gpus") or []
        index = int((record.get("backend_info") or {}).get("device", 0) or 0)
        if index < len(gpus):
            return str(gpus[index].get("name") or "unknown GPU")
        return "unknown GPU"
    return str(machine.get("cpu") or "unknown CPU")


def table5(
    bench_paths: Sequence[str | Path],
    keras_paths: Sequence[str | Path],
    prune_paths: Sequence[str | Path],
    models: dict[str, Any],
    batch_size: int,
) -> pd.DataFrame:
    """Deployment results per model, variant, dtype and backend beside the paper's Table V."""
    layers = {}
    nonzero = {}
    for path in keras_paths:
        record = records.keras_eval(path)
        layers[(record["model"], record["variant"])] = record["layers"]
        nonzero[(record["model"], record["variant"])] = record["totals"]["nonzero_params"]
    before = {}
    for path in prune_paths:
        record = records.load(path)
        records.require(record, ("model", "variant", "totals_before"), path, "prune summary")
        before[(record["model"], record["variant"])] = record["totals_before"]["params"]
    rows = []
    for path in bench_paths:
        record = records.bench(path)
        model, variant, dtype = record["model"], record["variant"], record["dtype"]
        key = require_keras_eval(layers, model, variant, "table5", path)
        parsed = variants.parse(variant)
        if not parsed.is_pruned:
            achieved = 0.0
        elif key in before:
            achieved = sparsity_pct(nonzero[key], before[key])
        else:
            raise ValueError(
                f"table5: no prune summary of {model}/{variant} among the inputs "
                f"(results/models/{model}/pruned-{variant}.json)"
            )
        label = paper_name(models, model)
        ref = (
            paper.TABLE5.get(label, {}).get(dtype)
            if label and variant == paper.TABLE5_VARIANT
            else None
        )
        row = {
            "model": model,
            "paper_model": label,
            "variant": variant,
            "pruning_method": parsed.method,
            "sparsity_pct": parsed.sparsity,
            "achieved_sparsity_pct": achieved,
            "dtype": dtype,
            "backend": record["backend"],
            "status": record["status"],
            "batch_size": batch_size,
            **ops_summary(layers[key]),
            **bench_measurements(record, batch_size, path),
        }
        if ref:
            row.update(
                paper_mflops=paper.TABLE5_MFLOPS[label],
                paper_sparsity_pct=paper.TABLE5_SPARSITY_PCT,
                paper_accuracy_pct=ref[0],
                paper_size_mb=ref[1],
                paper_throughput_fps=ref[2],
                paper_batch_size=paper.TABLE5_BATCH_SIZE,
                paper_device=paper.TABLE5_DEVICE,
            )
        rows.append(row)
    # Model-major like the paper (the inputs come backend-major): model, variant, dtype, backend.
    first = {}
    for row in rows:
        for key in ("model", "variant", "dtype", "backend"):
            first.setdefault((key, row[key]), len(first))
    rows.sort(
        key=lambda r: tuple(first[(k, r[k])] for k in ("model", "variant", "dtype", "backend"))
    )
    return frame("table5", rows)


def bench_machines(bench_paths: Iterable[str | Path]) -> dict[str, Any]:
    """The distinct machines the benchmarks ran on, keyed by backend (Table V's provenance)."""
    machines: dict[str, Any] = {}
    for path in bench_paths:
        record = records.bench(path)
        if record["status"] == "ok":
            machines.setdefault(record["backend"], record["machine"])
    return machines
