"""The summary's deployment sections (Table V): what ran where and in which precision, what was
refused or not offered, where the paper's throughput is, and the fastest runtime per model,
variant and dtype."""

from __future__ import annotations

import pandas as pd

from amrcomp import paper
from amrcomp.report.render import Section


def _deployment_section(t5: pd.DataFrame) -> Section:
    """Table V's rows, with `_table5_text`'s account of them."""
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
    return Section("Deployment (Table V)", _table5_text(t5), t5[cols].reset_index(drop=True))


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
