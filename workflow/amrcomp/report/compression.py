"""The summary's sections on what pruning bought and cost (Table III) and which pruned variant
to deploy (Table V): fine-tune budgets, the sparsest variant within the paper's tolerance, drops
against the dense control with their intervals, and the acceptance rule (`amrcomp.confidence`)."""

from __future__ import annotations

import pandas as pd

from amrcomp import confidence
from amrcomp.report.render import Section, _view


def _budgets_section(t3: pd.DataFrame) -> Section:
    """Each pruned variant's (and the control's) fine-tune budget and what it removed."""
    pruned = t3[t3["variant"] != "baseline"]  # with the control: its fine-tune is theirs
    return Section(
        "Pruning budgets and what was removed (Table III)",
        [
            "tfmot's ConstantSparsity re-masks only on fine-tune steps that are multiples "
            "of `prune.frequency`; with fewer steps than that the schedule never fires and "
            "the variant is one-shot: the masks computed before and after the fine-tune "
            "make all its sparsity. Filter pruning removes whole filters once; removing "
            "half a layer's filters also halves the next layer's inputs, so "
            "`params_removed_pct` exceeds `filters_removed_pct`. The control has the same "
            "fine-tune and prunes nothing."
        ],
        _view(
            pruned,
            (
                "model variant pruning_schedule finetune_epochs finetune_steps "
                "finetune_frames finetune_learning_rate finetune_distillation "
                "pruning_frequency schedule_mask_updates "
                "explicit_mask_applications achieved_sparsity_pct filters_removed_pct "
                "params_removed_pct"
            ),
        ),
    )


def _sparsest_section(t3: pd.DataFrame) -> Section | None:
    """Per model, the sparsest pruned variant within 1 pp of the baseline; None if there is none."""
    best = (
        t3[(t3["pruning_method"] != "none") & (t3["accuracy_drop_pp"] <= 1.0)]
        .sort_values("achieved_sparsity_pct", ascending=False)
        .groupby("model", sort=False)
        .head(1)
    )
    if not len(best):
        return None
    return Section(
        "Sparsest variant within the paper's 1 pp accuracy tolerance",
        [],
        _view(
            best,
            "model variant achieved_sparsity_pct accuracy_pct accuracy_drop_pp size_zip_mib",
        ),
    )


def _pm(values: pd.Series, cis: pd.Series) -> list[str | None]:
    """'value ± half-width' cells (points), empty where the value is missing."""
    return [None if pd.isna(v) else f"{v:.2f} ± {c:.2f}" for v, c in zip(values, cis)]


def _drops_section(t3: pd.DataFrame) -> Section:
    """Table III's accuracies and drops with their 95 % intervals: against the baseline, and
    against the control, which had the same fine-tune and no pruning."""
    view = pd.DataFrame(
        {
            "model": t3["model"],
            "variant": t3["variant"],
            "accuracy %": _pm(t3["accuracy_pct"], t3["accuracy_ci95_pp"]),
            "accuracy from 0 dB %": _pm(
                t3["accuracy_from_0db_pct"], t3["accuracy_from_0db_ci95_pp"]
            ),
            "drop vs baseline (pp)": _pm(t3["accuracy_drop_pp"], t3["accuracy_drop_ci95_pp"]),
            "drop vs control (pp)": _pm(t3["drop_vs_control_pp"], t3["drop_vs_control_ci95_pp"]),
            "distillation": t3["finetune_distillation"],
        }
    ).reset_index(drop=True)
    text = [
        "`control` is the baseline fine-tuned exactly as the pruned variants were (same frames, "
        "steps, learning rate, seed, input scale and distillation) with nothing pruned, so the "
        "drop against it is what pruning costs; the drop against the baseline also holds what "
        "the extra fine-tune gained. ± are 95 % intervals; drops are paired (both models on the "
        "same test frames, only those where exactly one is right count), so where two models "
        "agree on most frames a drop is known far better than the two accuracies' intervals "
        "combined would say."
    ]
    return Section("Drops against the dense control (Table III)", text, view)


def _accepted_section(t5: pd.DataFrame) -> Section:
    """Per model, the fastest pruned Table V row the acceptance rule admits."""
    rule = (
        f"drop against the control of the same dtype and backend is at most "
        f"{confidence.ACCEPT_DROP_PP:g} point and the upper end of its paired 95 % interval at "
        f"most {confidence.ACCEPT_DROP_CI_HIGH_PP:g} points"
    )
    ran = t5[(t5["status"] == "ok") & (t5["pruning_method"] != "none")]
    drops = zip(ran["drop_vs_control_pp"], ran["drop_vs_control_ci95_pp"])
    ok = ran[[confidence.accepted(drop, ci) for drop, ci in drops]]
    best = ok.sort_values("throughput_fps", ascending=False).groupby("model", sort=False).head(1)
    text = [
        f"Per model, the fastest pruned variant (throughput at Table V's batch size, any dtype "
        f"and backend) whose {rule} (the acceptance rule, `amrcomp.confidence`)."
    ]
    if ran["drop_vs_control_pp"].isna().all():
        text.append("Table V has no control rows to compare with: add `control` to its variants.")
    missing = sorted(set(ran["model"]) - set(best["model"]))
    if missing:
        text.append(f"No pruned variant meets the rule: {', '.join(missing)}.")
    view = best.assign(drop=_pm(best["drop_vs_control_pp"], best["drop_vs_control_ci95_pp"]))
    cols = "model variant dtype backend throughput_fps speedup_vs_control accuracy_pct drop"
    return Section(
        "Fastest variant within the acceptance rule (Table V)",
        text,
        _view(view, cols, drop="drop vs control (pp)"),
    )
