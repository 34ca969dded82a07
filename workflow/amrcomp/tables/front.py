"""The accuracy-cost front: every variant and dtype of each model on the same axes.

One point per deployable form: each float variant's TFLite files (accuracy on LiteRT, file
size, qtools energy at the matching uniform dtype, throughput where benchmarked), each tfmot
QAT variant's int8 file (energy: its parent's int8 estimate, the same layers and zeros), each
QKeras model (Keras accuracy; energy, bit operations and size computed at its own widths; no
throughput: no runtime here runs sub-8-bit arithmetic). Every point's drop is paired against
its dense control's fp32 TFLite file; Pareto flags mark, per model and axis, the points no
other point beats on accuracy and cost together. The paper's baseline points (Table IV,
Sec. III-D) are reference rows; its throughput (a T4 GPU) is on no axis of ours.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from amrcomp import confidence, paper, records, variants
from amrcomp.tables.build import paper_name
from amrcomp.tables.paired import accuracy_ci, drop
from amrcomp.tables.schema import frame

# Cost axes of the front: column -> whether more is better, and the column of its Pareto flag.
AXES = {"energy_uj": False, "size_mib": False, "throughput_fps": True}
PARETO = {
    "energy_uj": "pareto_energy",
    "size_mib": "pareto_storage",
    "throughput_fps": "pareto_throughput",
}
# Which uniform qtools dtype prices a TFLite dtype (dynamic-range has none).
ENERGY_DTYPE = {"fp32": "fp32", "fp16": "fp16", "int8": "int8"}


def _index(paths: Sequence[str | Path], load) -> dict[tuple, tuple[str | Path, dict]]:
    out = {}
    for path in paths:
        record = load(path)
        out[(record["model"], record["variant"], record.get("dtype", "fp32"))] = (path, record)
    return out


def fastest(bench: dict, key: tuple, batch_size: int) -> dict[str, Any]:
    """Highest throughput at `batch_size` over the backends that ran this (model, variant,
    dtype), and which backend."""
    best: dict[str, Any] = {}
    for (model, variant, dtype, backend), (_, record) in bench.items():
        if (model, variant, dtype) != key or record["status"] != "ok":
            continue
        fps = float(record["throughput_fps"].get(str(batch_size), "nan"))
        if not best or fps > best["throughput_fps"]:
            best = {"throughput_fps": fps, "fastest_backend": backend}
    return best


def mark_pareto(rows: list[dict[str, Any]]) -> None:
    """pareto_<axis>: no other measured point of the model is at least as accurate and at least
    as cheap on that axis, and better on one of the two."""
    for axis, more_is_better in AXES.items():
        sign = -1.0 if more_is_better else 1.0
        points = [r for r in rows if r["status"] == "measured" and pd.notna(r.get(axis))]
        for row in points:
            cost, acc = sign * row[axis], row["accuracy_pct"]
            row[PARETO[axis]] = not any(
                o is not row
                and o["model"] == row["model"]
                and o["accuracy_pct"] >= acc
                and sign * o[axis] <= cost
                and (o["accuracy_pct"] > acc or sign * o[axis] < cost)
                for o in points
            )


def paper_rows(models: dict[str, Any]) -> list[dict[str, Any]]:
    """The paper's baseline points: Table IV accuracy and size, Sec. III-D qtools energy (the
    paper pairs its INT8 energy with its dynamic-range INT8 model, and so does this row)."""
    rows = []
    for model in models:
        label = paper_name(models, model)
        if not label:
            continue
        energy = paper.ENERGY_UJ[label]
        for dtype, (accuracy, size) in paper.TABLE4[label].items():
            rows.append(
                {
                    "model": model,
                    "paper_model": label,
                    "variant": "baseline",
                    "training": "float",
                    "dtype": dtype,
                    "status": "paper",
                    "accuracy_pct": accuracy,
                    "size_mib": size,
                    "storage": "the paper's Table IV",
                    "energy_uj": energy["int8" if dtype == "dynamic" else dtype],
                    "energy_source": "the paper's Sec. III-D qtools estimate",
                }
            )
    return rows


def front(
    tflite_paths: Sequence[str | Path],
    keras_paths: Sequence[str | Path],
    energy_paths: Sequence[str | Path],
    bench_paths: Sequence[str | Path],
    qat_paths: Sequence[str | Path],
    models: dict[str, Any],
    controls: dict[str, str],
    batch_size: int,
) -> pd.DataFrame:
    """The front table; `controls` maps each variant to the dense control its drop is against,
    `qat_paths` are the quantisation-aware fine-tunes' summaries (zeros after conversion)."""
    tflite = _index(tflite_paths, records.tflite_eval)
    keras = _index(keras_paths, records.keras_eval)
    energy = _index(energy_paths, records.energy)
    bench = {}
    for path in bench_paths:
        record = records.bench(path)
        key = (record["model"], record["variant"], record["dtype"], record["backend"])
        bench[key] = (path, record)
    zeros = {}
    for path in qat_paths:
        summary = records.load(path)
        if "converted_weight_sparsity" in summary:
            overall = summary["converted_weight_sparsity"]["overall"]
            zeros[(summary["model"], summary["variant"])] = 100.0 * overall
    points = [(k, v, "tflite") for k, v in tflite.items()]
    points += [(k, v, "keras") for k, v in keras.items() if variants.parse(k[1]).bits]
    rows = []
    for (model, variant, dtype), (path, record), source in points:
        parsed = variants.parse(variant)
        row: dict[str, Any] = {
            "model": model,
            "paper_model": paper_name(models, model),
            "variant": variant,
            "training": parsed.training,
            "pruning_method": parsed.pruning_method,
            "sparsity_pct": parsed.sparsity,
            "status": "measured",
            "accuracy_pct": record["accuracy_pct"],
            **accuracy_ci(record, path),
        }
        if source == "keras":  # a QKeras model: its own widths, computed
            own = energy[(model, variant, "lowbit")][1]
            row.update(
                dtype=f"w{parsed.bits[0]}a{parsed.bits[1]}",
                size_mib=own["size_bytes"] / records.MIB,
                storage=f"computed: kernels at {parsed.bits[0]} bits, biases at >= 8",
                energy_source="qtools at the model's own bit widths",
            )
        else:
            estimate = energy.get((model, parsed.parent, ENERGY_DTYPE.get(dtype, "")))
            own = estimate[1] if estimate else None
            row.update(
                dtype=dtype,
                size_mib=records.sizes_mib(record)["size_mib"],
                storage=".tflite file",
                energy_source=(
                    f"qtools uniform {ENERGY_DTYPE[dtype]} estimate"
                    + (f" of {parsed.parent}" if parsed.is_qat else "")
                    if own
                    else None
                ),
                kernel_zeros_pct=zeros.get((model, variant)),
                **fastest(bench, (model, variant, dtype), batch_size),
            )
        if own:
            row.update(
                energy_uj=own["sparsity_aware_energy_uj"],
                qtools_energy_uj=own["energy_uj"],
                bit_operations=own["bit_operations"],
            )
        control = controls.get(variant)
        reference = tflite.get((model, control, "fp32"))
        if control and control != variant and reference:
            row["control"] = control
            row["drop_vs_control_pp"], row["drop_vs_control_ci95_pp"] = drop(
                reference, (path, record)
            )
            row["within_tolerance"] = confidence.accepted(
                row["drop_vs_control_pp"], row["drop_vs_control_ci95_pp"]
            )
        rows.append(row)
    mark_pareto(rows)
    rows.extend(paper_rows(models))
    return frame("front", rows)
