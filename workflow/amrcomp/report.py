"""Report stage: results/summary.md, the headline numbers of this run beside the paper's.

Built from the written tables only (never from the raw records), so the summary cannot
disagree with them. The same sections render as Markdown and as HTML (for the report).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from amrcomp import confidence, paper
from amrcomp.tablefile import fmt, read_table


@dataclass
class Section:
    """One heading of the summary: its sentences and an optional table, in either format."""

    title: str
    text: list[str] = field(default_factory=list)
    table: pd.DataFrame | None = None


def read_tables(
    paths: Iterable[str | Path],
) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, Any]]]:
    """Tables and their metadata keyed by file stem (table1, ...): the names `sections` expects."""
    tables, metas = {}, {}
    for path in paths:
        name = Path(path).stem
        tables[name], metas[name] = read_table(path)
    return tables, metas


def _view(df: pd.DataFrame, columns: str, **renames: str) -> pd.DataFrame:
    """The named (space-separated) columns of one section's table, renamed, freshly indexed."""
    return df[columns.split()].rename(columns=renames).reset_index(drop=True)


def _ratio(ours: Any, theirs: Any) -> Any:
    """ours / theirs, or None when either is missing (an empty cell, not a misleading 0 or inf)."""
    if pd.isna(ours) or pd.isna(theirs) or not theirs:
        return None
    return float(ours) / float(theirs)


def _paper_rows(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["paper_model"].notna()]


def sections(tables: dict[str, pd.DataFrame], meta: dict[str, Any]) -> list[Section]:
    """The summary's sections from the tables (keyed table1..table5, table_energy)."""
    out = []
    dataset = meta.get("dataset", {})
    intro = [
        f"Data set `{dataset.get('name')}` (source {dataset.get('source')}, "
        f"content sha256 `{str(dataset.get('content_hash'))[:16]}`), "
        f"config sha256 `{str(meta.get('config_sha256'))[:16]}`.",
        "Columns `paper_*` are the paper's published numbers (RML2016.10a, NVIDIA T4) as "
        "printed; they are compared where the config maps a model to the paper's label "
        "(`paper_name`). Sizes are MiB (2^20 bytes), the unit of the paper's sizes.",
    ]
    if dataset.get("source") == "synthetic":
        intro.append(
            "The data are the embedded synthetic RML2016.10a-like generator's, not the real "
            "recordings, so accuracies are this data set's. Parameter counts, MACs, uncompressed "
            "sizes and energy depend on the architecture only; the sections below set them "
            "beside the paper's, including where the paper's printed numbers cannot be its "
            "models'."
        )
    out.append(Section("Run", intro))

    t1, t3 = tables["table1"], tables["table3"]
    totals = t1[t1["layer"] == "total"].set_index("model")
    base = t3[t3["variant"] == "baseline"].set_index("model")
    rows = []
    for model, row in totals.iterrows():
        label = row["paper_model"]
        rows.append(
            {
                "model": model,
                "paper model": label,
                "parameters": row["params"],
                "paper parameters": row["paper_params"],
                "MACs": row["macs"],
                "accuracy %": base.loc[model, "accuracy_pct"] if model in base.index else None,
                "paper accuracy %": paper.BASELINE_ACCURACY_PCT.get(label)
                if not pd.isna(label)
                else None,
            }
        )
    matches = [
        r["model"]
        for r in rows
        if not pd.isna(r["paper parameters"]) and r["parameters"] == r["paper parameters"]
    ]
    out.append(
        Section(
            "Baselines (Table I, Sec. III-A)",
            [f"Parameter counts equal to the paper's: {', '.join(matches) or 'none'}."],
            pd.DataFrame(rows),
        )
    )

    mag = _paper_rows(t3[t3["pruning_method"] == "magnitude"]).assign(
        ratio=lambda d: [
            _ratio(a, b) for a, b in zip(d["paper_params_printed"], d["nonzero_params"])
        ]
    )
    out.append(
        Section(
            "Magnitude pruning (Table III)",
            [
                "Accuracy drop is relative to our baseline. `paper_params_printed` is the "
                "paper's #Parameters as printed: only Model 2 at 50 % (429,062 = 858,123 / 2) "
                "is a nonzero-parameter count; its other values are neither the nonzero nor the "
                "total parameters of a model pruned to that sparsity, so `printed / nonzero` "
                "compares like with like only there."
            ],
            _view(
                mag,
                (
                    "model sparsity_pct accuracy_pct paper_accuracy_pct accuracy_drop_pp "
                    "nonzero_params paper_params_printed ratio size_zip_mib"
                ),
                ratio="printed / nonzero",
            ),
        )
    )
    pruned = t3[t3["variant"] != "baseline"]  # with the control: its fine-tune is theirs
    out.append(
        Section(
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
    )
    best = (
        t3[(t3["pruning_method"] != "none") & (t3["accuracy_drop_pp"] <= 1.0)]
        .sort_values("achieved_sparsity_pct", ascending=False)
        .groupby("model", sort=False)
        .head(1)
    )
    if len(best):
        out.append(
            Section(
                "Sparsest variant within the paper's 1 pp accuracy tolerance",
                [],
                _view(
                    best,
                    (
                        "model variant achieved_sparsity_pct accuracy_pct accuracy_drop_pp "
                        "size_zip_mib"
                    ),
                ),
            )
        )

    out.append(_drops_section(t3))
    t4 = _paper_rows(tables["table4"][tables["table4"]["variant"] == "baseline"])
    out.append(
        Section(
            "TFLite quantisation of the baselines (Table IV)",
            [
                "The paper's INT8 column is dynamic-range quantisation (our `dynamic`). "
                "`weights_mib` is the parameters times the bytes of one weight: no file of the "
                "model at that precision can be smaller.",
                *_printed_below_weights(t4),
            ],
            _view(
                t4,
                (
                    "model dtype paper_dtype accuracy_pct paper_accuracy_pct size_mib weights_mib "
                    "paper_size_mib"
                ),
            ),
        )
    )

    te = tables["table_energy"]
    energy = te[te["variant"] == "baseline"].assign(
        ratio=lambda d: [_ratio(a, b) for a, b in zip(d["energy_uj"], d["paper_energy_uj"])]
    )
    savings = (
        te[te["variant"] == "baseline"].groupby("dtype", sort=False)["saving_vs_fp32_x"].mean()
    )
    saving_text = ", ".join(
        f"{d} {v:.2f}x" for d, v in savings.items() if d != "fp32" and not pd.isna(v)
    )
    out.append(
        Section(
            "Energy per inference (Sec. III-D)",
            [
                f"Mean saving over fp32 across models: {saving_text or 'n/a'} "
                "(paper: fp16 2.63x, int8 6.01x)."
            ],
            _view(
                energy,
                (
                    "model dtype accumulator energy_uj paper_energy_uj ratio "
                    "sparsity_aware_energy_uj"
                ),
                ratio="ours / paper",
            ),
        )
    )

    t5 = tables["table5"]
    cols = [
        "model",
        "variant",
        "dtype",
        "executed_precision",
        "backend",
        "status",
        "accuracy_pct",
        "paper_accuracy_pct",
        "size_zip_mib",
        "paper_size_mib",
        "throughput_fps",
        "paper_throughput_fps",
        "mflops_dense",
        "paper_mflops",
        "device",
    ]
    out.append(Section("Deployment (Table V)", _table5_text(t5), t5[cols].reset_index(drop=True)))
    out.append(_fastest_section(t5))
    out.append(_accepted_section(t5))
    return out


def _fastest_section(t5: pd.DataFrame) -> Section:
    """The fastest backend of each model, variant and dtype (Table V's `fastest_backend`), with
    how often each backend wins and what the others reached on the same rows."""
    ran = t5[t5["status"] == "ok"]
    rows = []
    for _, group in ran.groupby(["model", "variant", "dtype"], sort=False):
        best = group[group["backend"] == group["fastest_backend"]].iloc[0]
        others = group[group["backend"] != best["backend"]]
        rows.append(
            {
                **{k: best[k] for k in ("model", "variant", "dtype")},
                "fastest backend": best["backend"],
                "throughput_fps": best["throughput_fps"],
                "executed_precision": best["executed_precision"],
                "accuracy_pct": best["accuracy_pct"],
                "others (frames/s)": ", ".join(
                    f"{o.backend} {o.throughput_fps:.0f}" for o in others.itertuples()
                )
                or "none ran",
            }
        )
    table = pd.DataFrame(rows)
    wins = table["fastest backend"].value_counts() if len(table) else pd.Series(dtype=int)
    batch = int(ran["batch_size"].iloc[0]) if len(ran) else "?"
    text = [
        f"The runtime to pick on this machine: highest throughput at batch {batch} among the "
        "backends that ran each model, variant and dtype. Wins: "
        + (", ".join(f"{b} {n} of {len(table)}" for b, n in wins.items()) or "none")
        + "."
    ]
    return Section("Fastest runtime per model and dtype (Table V)", text, table)


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


def _table5_text(t5: pd.DataFrame) -> list[str]:
    """Where the paper's throughput is (its own rows, not beside ours), what the executed
    precision is, which files ran in another precision than their dtype, what was refused."""
    measured = t5[t5["status"] != "reference"]
    reference = t5.loc[t5["status"] == "reference", "backend"]
    batch = int(measured["batch_size"].iloc[0]) if len(measured) else "?"
    devices = ", ".join(sorted(set(measured["device"].dropna()))) or "no device recorded"
    text = [
        f"Throughput at batch {batch}, measured on this machine ({devices}). The paper's "
        f"throughput ({paper.TABLE5_DEVICE}, batch {paper.TABLE5_BATCH_SIZE}) appears only in "
        + (f"its own rows (backend `{reference.iloc[0]}`)" if len(reference) else "no row here")
        + ", never beside a measurement of this machine.",
        "`executed_precision` is the precision the compute ops ran in, from the runtime's own "
        "evidence (ONNX Runtime's optimised graph; LiteRT's ops after delegation and a "
        "measurement against fp32- and fp16-computed references; OpenVINO's runtime graph; "
        "TensorRT's engine layers), "
        "not the file's dtype; `unknown` where that evidence is inconclusive.",
    ]
    ran = measured[measured["status"] == "ok"]
    differs = (ran["executed_precision"] != ran["dtype"]) & (ran["executed_precision"] != "unknown")
    lists = (
        (
            "Files that ran in another precision than their dtype",
            ran[differs],
            lambda r: f" ran {r.executed_precision}",
        ),
        ("Executed precision inconclusive", ran[ran["executed_precision"] == "unknown"], None),
        ("Unsupported", t5[t5["status"] == "unsupported"], lambda r: f" ({r.note})"),
    )
    for title, rows, detail in lists:
        if len(rows):
            items = (
                f"{r.model} {r.variant} {r.dtype} on {r.backend}" + (detail(r) if detail else "")
                for r in rows.itertuples()
            )
            text.append(f"{title}: " + "; ".join(items) + ".")
    # One line per backend and precision a runtime or CPU does not offer (bf16), not per row.
    absent = t5[t5["status"] == "not_offered"].groupby(["dtype", "backend", "note"], sort=False)
    for (dtype, backend, note), rows in absent:
        why = str(note).removeprefix("not offered: ")
        text.append(f"Not offered: {dtype} on {backend} ({len(rows)} rows): {why}.")
    return text


def _printed_below_weights(t4: pd.DataFrame) -> list[str]:
    """A sentence per paper model whose printed sizes its own parameters rule out: they stay in
    the table as printed, and the reader is told they cannot be files of that model."""
    short = t4[t4["paper_size_mib"] < t4["weights_mib"]]
    return [
        f"The paper's {label} sizes ({' / '.join(rows['dtype'])}: "
        f"{' / '.join(f'{v:.2f}' for v in rows['paper_size_mib'])} MiB) are shown as printed: "
        f"its parameters alone need {' / '.join(f'{v:.2f}' for v in rows['weights_mib'])} MiB "
        f"at those precisions, so no file of the {label} of Table I is that small."
        for label, rows in short.groupby("paper_model", sort=False)
    ]


def _md_table(df: pd.DataFrame) -> str:
    """A GitHub Markdown table; '|' inside a cell would split it, so it becomes '/'."""
    head = "| " + " | ".join(str(c) for c in df.columns) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = [
        "| " + " | ".join(fmt(v).replace("|", "/") for v in row) + " |"
        for row in df.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body])


def markdown(secs: list[Section]) -> str:
    """results/summary.md: readable in a terminal and rendered by any Git host."""
    parts = ["# Results summary", ""]
    for sec in secs:
        parts += [f"## {sec.title}", ""]
        parts += [*(t for t in sec.text), ""] if sec.text else []
        if sec.table is not None:
            parts += [_md_table(sec.table) if len(sec.table) else "_no rows_", ""]
    return "\n".join(parts).rstrip() + "\n"


def to_html(secs: list[Section]) -> str:
    """The same sections as a standalone page: the Snakemake report shows HTML, not Markdown."""
    parts = [
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Results summary</title>'
        "<style>body{font-family:system-ui,sans-serif;margin:1rem}"
        "table{border-collapse:collapse;font-size:0.8rem}"
        "th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#eee}"
        "</style></head><body><h1>Results summary</h1>"
    ]
    for sec in secs:
        parts.append(f"<h2>{html.escape(sec.title)}</h2>")
        parts += [f"<p>{html.escape(t).replace('`', '')}</p>" for t in sec.text]
        if sec.table is not None and len(sec.table):
            head = "".join(f"<th>{html.escape(str(c))}</th>" for c in sec.table.columns)
            rows = "".join(
                "<tr>" + "".join(f"<td>{html.escape(fmt(v))}</td>" for v in row) + "</tr>"
                for row in sec.table.itertuples(index=False)
            )
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
