"""Accuracy intervals and paired drops for the tables (Table III: Keras, Table V: benchmarks).

Every evaluation record keeps each test frame's label and prediction (`amrcomp.scoring`), so
two records of one model on the same frames give a paired interval of their difference
(`amrcomp.confidence`); `records.check_same_frames` refuses records of different frames.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from amrcomp import confidence, records, variants

Loaded = tuple[str | Path, dict[str, Any]]  # a record and the path it was read from


def accuracy_ci(record: dict[str, Any], path: str | Path) -> dict[str, float]:
    """The half-width of the 95 % interval of a record's accuracy over all frames."""
    records.require(record, ("accuracy_pct", "n_frames"), path, "evaluation")
    ci = confidence.accuracy_ci_pp(record["accuracy_pct"], record["n_frames"])
    return {"accuracy_ci95_pp": ci}


def from_0db(record: dict[str, Any], path: str | Path) -> dict[str, Any]:
    """Accuracy over the frames with SNR >= 0 dB and its interval (empty without such frames)."""
    records.require(record, ("accuracy_from_0db_pct", "n_frames_from_0db"), path, "evaluation")
    accuracy, n = record["accuracy_from_0db_pct"], record["n_frames_from_0db"]
    if accuracy is None or not n:
        return {}
    return {
        "accuracy_from_0db_pct": accuracy,
        "accuracy_from_0db_ci95_pp": confidence.accuracy_ci_pp(accuracy, n),
    }


def drop(reference: Loaded, variant: Loaded) -> tuple[float, float]:
    """(drop in points, half-width of its paired 95 % interval) of `variant` against
    `reference`, after checking both scored the same frames."""
    (ref_path, ref), (path, record) = reference, variant
    records.check_same_frames(ref, ref_path, record, path)
    return confidence.paired_drop_pp(
        records.correct_frames(ref, ref_path), records.correct_frames(record, path)
    )


def against_control(
    rows: list[dict[str, Any]], loaded: dict[tuple, Loaded], controls: dict[str, str]
) -> None:
    """Table V: each measured row's accuracy interval, its drop (paired interval) against its
    control's row of the same model, dtype and backend, and its throughput ratio against a dense
    control's row there (its own, else any: every control has the baseline's architecture).

    `loaded` maps (model, variant, dtype, backend) to each row's benchmark record; `controls`
    maps each pruned variant to its control. Rows whose control is not benchmarked, or not
    measured (unsupported, not offered), keep those columns empty.
    """

    def key(row: dict[str, Any], variant: str) -> tuple:
        return row["model"], variant, row["dtype"], row["backend"]

    measured = {key(row, row["variant"]): row for row in rows if row["status"] == "ok"}
    dense = {key(row, "dense"): row for row in measured.values() if _is_control(row["variant"])}
    for row in rows:
        path, record = loaded[key(row, row["variant"])]
        if record["status"] != "ok":
            continue
        row.update(accuracy_ci(record, path))
        own = controls.get(row["variant"])
        if own is None:  # the baseline or a control
            continue
        if key(row, own) in measured:
            reference = loaded[key(row, own)]
            row["drop_vs_control_pp"], row["drop_vs_control_ci95_pp"] = drop(
                reference, (path, record)
            )
        control = measured.get(key(row, own)) or dense.get(key(row, "dense"))
        if control:
            row["speedup_vs_control"] = row["throughput_fps"] / control["throughput_fps"]


def _is_control(variant: str) -> bool:
    return variants.parse(variant).control
