"""The summary's sections that set this run beside the paper's printed numbers: the run and its
data, the baselines (Table I), magnitude pruning (Table III), TFLite quantisation (Table IV) and
energy per inference (Sec. III-D)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from amrcomp import paper
from amrcomp.report.render import Section, _view


def _ratio(ours: Any, theirs: Any) -> Any:
    """ours / theirs, or None when either is missing (an empty cell, not a misleading 0 or inf)."""
    if pd.isna(ours) or pd.isna(theirs) or not theirs:
        return None
    return float(ours) / float(theirs)


def _paper_rows(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["paper_model"].notna()]


def _run_section(meta: dict[str, Any], t2: pd.DataFrame | None = None) -> Section:
    """The data set and config of this run, where training computed (Table II), and how the
    paper's columns are compared."""
    dataset = meta.get("dataset", {})
    intro = [
        f"Data set `{dataset.get('name')}` (source {dataset.get('source')}, "
        f"content sha256 `{str(dataset.get('content_hash'))[:16]}`), "
        f"config sha256 `{str(meta.get('config_sha256'))[:16]}`.",
        "Columns `paper_*` are the paper's published numbers (RML2016.10a, NVIDIA T4) as "
        "printed; they are compared where the config maps a model to the paper's label "
        "(`paper_name`). Sizes are MiB (2^20 bytes), the unit of the paper's sizes.",
    ]
    if t2 is not None and len(t2):
        intro.append(_training_devices(t2))
    if dataset.get("source") == "synthetic":
        intro.append(
            "The data are the embedded synthetic RML2016.10a-like generator's, not the real "
            "recordings, so accuracies are this data set's. Parameter counts, MACs, uncompressed "
            "sizes and energy depend on the architecture only; the sections below set them "
            "beside the paper's, including where the paper's printed numbers cannot be its "
            "models'."
        )
    return Section("Run", intro)


def _training_devices(t2: pd.DataFrame) -> str:
    """Where each model trained (Table II `train_devices`): one device text for all, or each
    model's; a GPU node whose TensorFlow could not use its GPU shows here, not only in a log."""
    used = {
        m: d if isinstance(d, str) else "not recorded"
        for m, d in zip(t2["model"], t2["train_devices"])
    }
    if len(set(used.values())) == 1:
        where = f"`{next(iter(used.values()))}`"
    else:
        where = "; ".join(f"{m} `{d}`" for m, d in used.items())
    return f"Training computed on {where} (Table II `train_devices`)."


def _baselines_section(t1: pd.DataFrame, t3: pd.DataFrame) -> Section:
    """Each baseline's parameters, MACs and accuracy beside the paper's (Table I, Sec. III-A)."""
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
    return Section(
        "Baselines (Table I, Sec. III-A)",
        [f"Parameter counts equal to the paper's: {', '.join(matches) or 'none'}."],
        pd.DataFrame(rows),
    )


def _magnitude_section(t3: pd.DataFrame) -> Section:
    """Table III's magnitude-pruned variants of the paper's models beside its printed rows."""
    mag = _paper_rows(t3[t3["pruning_method"] == "magnitude"]).assign(
        ratio=lambda d: [
            _ratio(a, b) for a, b in zip(d["paper_params_printed"], d["nonzero_params"])
        ]
    )
    return Section(
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


def _quantisation_section(table4: pd.DataFrame) -> Section:
    """Table IV's quantised baselines of the paper's models beside its printed rows."""
    t4 = _paper_rows(table4[table4["variant"] == "baseline"])
    return Section(
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


def _energy_section(te: pd.DataFrame) -> Section:
    """The baselines' energy per inference and the mean saving over fp32, beside the paper's."""
    energy = te[te["variant"] == "baseline"].assign(
        ratio=lambda d: [_ratio(a, b) for a, b in zip(d["energy_uj"], d["paper_energy_uj"])]
    )
    savings = (
        te[te["variant"] == "baseline"].groupby("dtype", sort=False)["saving_vs_fp32_x"].mean()
    )
    saving_text = ", ".join(
        f"{d} {v:.2f}x" for d, v in savings.items() if d != "fp32" and not pd.isna(v)
    )
    return Section(
        "Energy per inference (Sec. III-D)",
        [
            f"Mean saving over fp32 across models: {saving_text or 'n/a'} "
            "(paper: fp16 2.63x, int8 6.01x)."
        ],
        _view(
            energy,
            "model dtype accumulator energy_uj paper_energy_uj ratio sparsity_aware_energy_uj",
            ratio="ours / paper",
        ),
    )
