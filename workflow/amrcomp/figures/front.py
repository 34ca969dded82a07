"""The accuracy-cost front figure: one row per model, one panel per cost axis (energy, size,
throughput), every measured point of the front table coloured by how it was trained, its
Pareto points ringed (the table's flags, not recomputed) and the paper's points as stars."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from amrcomp.figures.plots import DTYPE_MARKERS, save

PANELS = (
    ("energy_uj", "pareto_energy", "energy per inference (uJ, sparsity-aware qtools, log)"),
    ("size_mib", "pareto_storage", "size (MiB; QKeras: computed at its widths, log)"),
    ("throughput_fps", "pareto_throughput", "throughput (frames/s, fastest CPU backend, log)"),
)
TRAINING_COLOURS = {"float": "tab:blue", "qat": "tab:orange", "pqat": "tab:green"}


def front_figure(table: pd.DataFrame, png: str | Path, svg: str | Path) -> None:
    """Draw the front table (results/front.parquet)."""
    models = list(dict.fromkeys(table["model"])) or [""]
    fig, axes = plt.subplots(len(models), len(PANELS), figsize=(15, 4 * len(models) + 0.8))
    axes = np.atleast_2d(axes)
    for row_axes, model in zip(axes, models):
        part = table[table["model"] == model]
        for ax, (x, flag, label) in zip(row_axes, PANELS):
            ok = part[part[x].notna() & part["accuracy_pct"].notna()]
            measured, paper = ok[ok["status"] == "measured"], ok[ok["status"] == "paper"]
            for _, p in measured.iterrows():
                colour = TRAINING_COLOURS.get(p["training"], "tab:purple")
                marker = DTYPE_MARKERS.get(p["dtype"], "P")
                ax.scatter(p[x], p["accuracy_pct"], color=colour, marker=marker, s=30, zorder=3)
            best = measured[measured[flag].fillna(False).astype(bool)]
            ax.scatter(best[x], best["accuracy_pct"], s=150, facecolors="none",
                       edgecolors="crimson", zorder=4)  # fmt: skip
            for _, p in best.iterrows():
                ax.annotate(f"{p['variant']} {p['dtype']}", (p[x], p["accuracy_pct"]),
                            textcoords="offset points", xytext=(5, 4), fontsize=6.5)  # fmt: skip
            ax.scatter(paper[x], paper["accuracy_pct"], marker="*", s=120, color="black", zorder=5)
            if len(ok):
                ax.set_xscale("log")
            else:
                ax.text(0.5, 0.5, "no points", ha="center", va="center", transform=ax.transAxes)
            ax.set_title(f"{model}: accuracy vs {x.split('_')[0]}")
            ax.set_xlabel(label)
            ax.set_ylabel("test accuracy (%)")
            ax.grid(True, alpha=0.3)
    handles = [
        plt.Line2D([], [], color=c, marker="o", linestyle="", label=f"{k} training")
        for k, c in {**TRAINING_COLOURS, "qkeras": "tab:purple"}.items()
    ]
    handles += [
        plt.Line2D([], [], color="crimson", marker="o", markerfacecolor="none", linestyle="",
                   label="Pareto-optimal"),
        plt.Line2D([], [], color="black", marker="*", linestyle="", label="the paper's baseline"),
    ]  # fmt: skip
    fig.legend(handles=handles, loc="lower center", ncol=len(handles))
    fig.suptitle("Accuracy-cost front: every variant and deployed form (markers: dtype)")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    save(fig, png, svg)
