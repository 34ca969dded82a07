"""Table III: accuracy, parameters and sizes of the baseline, its dense control and every pruned
variant (Keras evaluations), with what pruning removed and the fine-tune each had.

Each accuracy has its 95 % interval, over all frames and from 0 dB up; each drop is paired
(`amrcomp.tables.paired`): against the baseline, and for a pruned variant against the control,
the baseline through the same fine-tune without pruning, so that drop is the pruning's alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from amrcomp import paper, records, variants
from amrcomp.tables.build import paper_name, sparsity_pct
from amrcomp.tables.paired import Loaded, accuracy_ci, drop, from_0db
from amrcomp.tables.schema import frame


def table3(
    eval_paths: Sequence[str | Path],
    prune_paths: Sequence[str | Path],
    models: dict[str, Any],
    controls: dict[str, str],
) -> pd.DataFrame:
    """Accuracy (with intervals and paired drops), parameters, MACs and sizes of every variant,
    with the fine-tune budget and distillation of each fine-tuned one (prune summaries).

    `controls` maps each pruned variant to the control that had its fine-tune recipe
    (`amrcomp.settings.controls`)."""
    loaded = [(path, records.keras_eval(path)) for path in eval_paths]
    by_variant = {(r["model"], r["variant"]): (p, r) for p, r in loaded}
    summaries = {}
    for path in prune_paths:
        summary = records.prune_summary(path)
        summaries[(summary["model"], summary["variant"])] = summary
    rows = []
    for path, record in loaded:
        model, variant = record["model"], record["variant"]
        base = _reference(by_variant, model, variants.BASELINE, "sparsity and accuracy drops")
        parsed = variants.parse(variant)
        method, target = parsed.pruning_method, parsed.sparsity
        label = paper_name(models, model)
        ref = paper.TABLE3.get(label, {}).get(target) if label and method == "magnitude" else None
        totals, base_totals = record["totals"], base[1]["totals"]
        row = {
            "model": model,
            "paper_model": label,
            "variant": variant,
            "pruning_method": method,
            "sparsity_pct": target,
            "achieved_sparsity_pct": sparsity_pct(
                sum(r["nonzero_params"] for r in record["layers"]), base_totals["params"]
            ),
            "params_removed_pct": 100.0 * (1.0 - totals["params"] / base_totals["params"]),
            "accuracy_pct": record["accuracy_pct"],
            **accuracy_ci(record, path),
            **from_0db(record, path),
            **_drop("accuracy_drop", base, (path, record)),
            "params": totals["params"],
            "nonzero_params": totals["nonzero_params"],
            "macs": totals["macs"],
            "effective_macs": totals["effective_macs"],
            **records.sizes_mib(record),
            "paper_accuracy_pct": ref[0] if ref else None,
            "paper_params_printed": ref[1] if ref else None,
        }
        if parsed.is_pruned:
            control = _reference(by_variant, model, controls[variant], "drops against it")
            row.update(_drop("drop_vs_control", control, (path, record)))
        if parsed.is_finetuned:
            row.update(_pruning(summaries, model, variant, method))
        rows.append(row)
    return frame("table3", rows)


def _reference(by_variant: dict[tuple[str, str], Loaded], model: str, variant: str, why: str):
    """The Keras evaluation of `model`'s baseline or control among the inputs, or an error
    naming the file the rule must list."""
    if (model, variant) not in by_variant:
        raise ValueError(
            f"table3 needs the {variant} evaluation of {model} "
            f"(results/eval/{model}/{variant}-fp32.json) among its inputs for {why}"
        )
    return by_variant[(model, variant)]


def _drop(prefix: str, reference: Loaded, variant: Loaded) -> dict[str, float]:
    """`<prefix>_pp` and `<prefix>_ci95_pp`: the paired drop against `reference`."""
    value, ci = drop(reference, variant)
    return {f"{prefix}_pp": value, f"{prefix}_ci95_pp": ci}


def distillation_label(summary: dict[str, Any]) -> str:
    """'off', or the teacher and the loss weights of a distilled fine-tune."""
    used = summary["distillation"]
    if not used.get("enabled"):
        return "off"
    return f"from the baseline, alpha {used['alpha']:g}, T {used['temperature']:g}"


def _pruning(
    summaries: dict[tuple[str, str], dict[str, Any]], model: str, variant: str, method: str
) -> dict[str, Any]:
    """Table III's columns from a fine-tuned variant's summary: its fine-tune budget, schedule
    and distillation, and for filter pruning what it removed."""
    if (model, variant) not in summaries:
        raise ValueError(
            f"table3: no prune summary of {model}/{variant} among the inputs "
            f"(results/models/{model}/{variants.model_stem(variant)}.json)"
        )
    summary = summaries[(model, variant)]
    budget = summary["budget"]
    row = {
        "pruning_schedule": budget["pruning_schedule"],
        "finetune_epochs": budget["epochs"],
        "finetune_steps": budget["steps"],
        "finetune_frames": budget["frames"],
        "finetune_learning_rate": budget["learning_rate"],
        "finetune_distillation": distillation_label(summary),
        "pruning_frequency": budget["frequency"],
        "schedule_mask_updates": budget["schedule_mask_updates"],
        "explicit_mask_applications": budget["explicit_mask_applications"],
    }
    if method == "filters":
        row.update(removal(summary["layers"]))
    return row


def removal(layers: list[dict[str, Any]]) -> dict[str, Any]:
    """Filters/units and parameters filter pruning removed (a prune summary's layer rows).

    Removing half a layer's filters also halves the next layer's inputs, so a middle layer loses
    about 75 % of its parameters: both shares are shown, per layer and over the pruned layers.
    """
    pruned = [r for r in layers if r["pruned"]]
    before = sum(r["units_before"] for r in pruned)
    removed = sum(r["units_before"] - r["units_after"] for r in pruned)
    per_layer = ", ".join(
        f"{r['layer']} {_pct(r['units_before'] - r['units_after'], r['units_before'])}"
        f"/{_pct(r['params_before'] - r['params_after'], r['params_before'])}"
        for r in layers
    )
    return {
        "filters_removed_pct": 100.0 * removed / before if before else 0.0,
        "per_layer_removed_pct": per_layer,
    }


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.0f}" if whole else "0"
