"""The accuracy-cost front (results/front.parquet): per model and cost axis, the cheapest point
within the acceptance rule of its dense control."""

from __future__ import annotations

import pandas as pd

from amrcomp import confidence
from amrcomp.report.compression import _pm
from amrcomp.report.render import Section, _view

# The front table's cost axes (amrcomp.tables.front.AXES): column -> whether more is better.
AXES = {"energy_uj": False, "size_mib": False, "throughput_fps": True}


def _front_section(front: pd.DataFrame) -> Section:
    """Per model and axis (energy, size, throughput), the cheapest measured point whose drop
    against its dense control meets the acceptance rule, with that drop and its interval."""
    measured = front[(front["status"] == "measured") & front["within_tolerance"].fillna(False)]
    rows = []
    for axis, more_is_better in AXES.items():
        ok = measured[measured[axis].notna()]
        best = ok.sort_values(axis, ascending=not more_is_better).groupby("model").head(1)
        rows += [{"axis": axis, **row} for row in best.to_dict("records")]
    text = [
        f"Per model and cost axis, the cheapest variant and deployed form whose accuracy drop "
        f"against its dense control is at most {confidence.ACCEPT_DROP_PP:g} point with the "
        f"upper end of its paired 95 % interval at most {confidence.ACCEPT_DROP_CI_HIGH_PP:g} "
        "(the acceptance rule): every post-training dtype, QAT, prune-preserving QAT and QKeras "
        "model on one front (results/front.csv; figure results/figures/front.png)."
    ]
    missing = sorted(
        set(front.loc[front["status"] == "measured", "model"]) - set(measured["model"])
    )
    if missing:
        text.append(f"No point meets the rule: {', '.join(missing)}.")
    if not rows:
        return Section("Cheapest within the tolerance, per axis (front)", text)
    view = pd.DataFrame(rows)
    view = view.assign(
        cost=[row[row["axis"]] for row in rows],
        drop=_pm(view["drop_vs_control_pp"], view["drop_vs_control_ci95_pp"]),
    )
    cols = "model axis variant dtype cost accuracy_pct drop control"
    return Section(
        "Cheapest within the tolerance, per axis (front)",
        text,
        _view(view, cols, cost="cost (axis unit)", drop="drop vs control (pp)"),
    )
