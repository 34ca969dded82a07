"""Table V: deployment results per model, variant, dtype and backend from the benchmarks.

The benchmark records carry the measurements and the precision each row executed in; the Keras
evaluations give the operation counts and the prune summaries the parameters before pruning
(for the achieved sparsity). The paper measured its throughput with TensorRT on an NVIDIA T4 at
batch 32: that figure (and its device and batch) sits only in one reference row per model and
paper dtype (backend `REFERENCE_BACKEND`, status "reference", no measurement of ours), never
beside a row measured on this machine. Each measured row names the fastest backend of its model,
variant and dtype at the table's batch size (`fastest_backend`): the runtime a user would pick.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from amrcomp import paper, precision, records, variants
from amrcomp.tables.build import ops_summary, paper_name, require_keras_eval, sparsity_pct
from amrcomp.tables.paired import against_control
from amrcomp.tables.schema import frame

REFERENCE_BACKEND = f"paper: {paper.TABLE5_RUNTIME} on {paper.TABLE5_GPU}"
# The columns that identify a measured row's configuration, shared by its reference row.
REFERENCE_KEYS = ("model", "paper_model", "variant", "pruning_method", "sparsity_pct", "dtype")


def bench_measurements(record: dict[str, Any], batch_size: int, path: str | Path) -> dict[str, Any]:
    """Accuracy, sizes, throughput at `batch_size` and at the best batch size, batch-1 latency,
    device.

    An unsupported record (the backend refused this dtype here) keeps its sizes and device and
    gets missing measurements with the backend's message as the note; a not_offered record (no
    such precision on this runtime or CPU, nothing run) likewise, its note "not offered: why".
    """
    row: dict[str, Any] = {"device": device_name(record, path), "note": record["message"]}
    row.update(records.sizes_mib(record))
    if record["status"] == "not_offered":
        row["note"] = f"not offered: {record['message'] or 'no reason recorded'}"
        return row
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


def executed(record: dict[str, Any], path: str | Path) -> dict[str, str]:
    """The precision the benchmark found its backend executed in, and what that rests on."""
    records.require(record, ("executed_precision", "precision_evidence"), path, "benchmark")
    if record["executed_precision"] not in precision.PRECISIONS:
        raise records.RecordError(
            f"{path}: executed_precision {record['executed_precision']!r} is not one of "
            f"{precision.PRECISIONS}; re-run the benchmark"
        )
    return {k: record[k] for k in ("executed_precision", "precision_evidence")}


def reference_row(row: dict[str, Any], throughput_fps: float) -> dict[str, Any]:
    """The paper's Table V row beside a measured `row` of the same model, variant and dtype:
    its paper_* figures plus the paper's throughput, device and batch, and nothing of ours."""
    return {
        **{k: row[k] for k in REFERENCE_KEYS},
        **{k: v for k, v in row.items() if k.startswith("paper_")},
        "backend": REFERENCE_BACKEND,
        "status": "reference",
        "note": "the paper's Table V figures, not measured here",
        "executed_precision": "unknown",
        "precision_evidence": "the paper does not report the precision TensorRT's layers ran in",
        "paper_throughput_fps": throughput_fps,
        "paper_batch_size": paper.TABLE5_BATCH_SIZE,
        "paper_device": paper.TABLE5_DEVICE,
    }


def device_name(record: dict[str, Any], path: str | Path) -> str:
    """Where the benchmark computed: its devices record's `used` text ("CPU: <model>", or
    "GPU: <name> (TensorRT); CPU: <model>"); for a record from before devices were recorded,
    the GPU's name for TensorRT (the configured device), else the CPU model."""
    used = records.devices_used(record, path)
    if used is not None:
        return used
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


def mark_fastest(rows: list[dict[str, Any]]) -> None:
    """Set `fastest_backend` on every measured row: the backend of highest throughput at the
    table's batch size among the rows of the same model, variant and dtype that ran (status ok);
    missing where none ran."""
    best: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["model"], row["variant"], row["dtype"])
        if row["status"] == "ok" and (
            key not in best or row["throughput_fps"] > best[key]["throughput_fps"]
        ):
            best[key] = row
    for row in rows:
        winner = best.get((row["model"], row["variant"], row["dtype"]))
        row["fastest_backend"] = winner["backend"] if winner else None


def table5(
    bench_paths: Sequence[str | Path],
    keras_paths: Sequence[str | Path],
    prune_paths: Sequence[str | Path],
    models: dict[str, Any],
    batch_size: int,
    controls: dict[str, str],
) -> pd.DataFrame:
    """Deployment results per model, variant, dtype and backend, and the paper's Table V as
    reference rows; `controls` maps each pruned variant to its dense control."""
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
    rows, references, loaded = [], {}, {}
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
            "pruning_method": parsed.pruning_method,
            "sparsity_pct": parsed.sparsity,
            "achieved_sparsity_pct": achieved,
            "dtype": dtype,
            "backend": record["backend"],
            "status": record["status"],
            **executed(record, path),
            "batch_size": batch_size,
            **ops_summary(layers[key]),
            **bench_measurements(record, batch_size, path),
        }
        if ref:
            row.update(
                paper_mflops=paper.TABLE5_MFLOPS[label],
                paper_sparsity_pct=paper.TABLE5_SPARSITY_PCT,
                paper_accuracy_pct=ref[0],
                paper_size_mib=ref[1],
            )
            references.setdefault((model, variant, dtype), reference_row(row, ref[2]))
        rows.append(row)
        loaded[(model, variant, dtype, record["backend"])] = (path, record)
    against_control(rows, loaded, controls)  # intervals, drops and speed-ups against controls
    mark_fastest(rows)
    # Appended last, so each follows the measured rows of its model, variant and dtype.
    rows.extend(references.values())
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
