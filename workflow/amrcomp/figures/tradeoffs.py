"""Accuracy against one cost (size, energy, throughput), one panel per model (optionally per
a second key), with the Pareto front marked: the variants worth deploying at each budget."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from amrcomp.figures.plots import DTYPE_MARKERS, save


def pareto_front(x: Sequence[float], y: Sequence[float], maximize_x: bool = False) -> np.ndarray:
    """Indices of the non-dominated points (y is maximised; x minimised unless maximize_x), by x."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    key = -x if maximize_x else x
    order = np.lexsort((-y, key))  # by key ascending, ties by y descending
    front, best = [], -np.inf
    for i in order:
        if np.isfinite(x[i]) and np.isfinite(y[i]) and y[i] > best:
            front.append(i)
            best = y[i]
    return np.asarray(front, dtype=int)


def _log_axis(ax) -> None:
    """Log x axis labelled at 1-2-5 steps in plain numbers (no overlapping minor labels)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 10 else f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _grid(df: pd.DataFrame, panel_by: Sequence[str]) -> list[list[tuple[str, pd.DataFrame | None]]]:
    """Panels as rows x columns: one key gives one row of panels, two keys a grid (rows: the
    first key)."""
    if not len(df):
        return [[("", None)]]
    if len(panel_by) == 1:
        return [[(str(k), part) for (k,), part in df.groupby(list(panel_by), sort=False)]]
    row_key, col_key = panel_by
    cols = list(dict.fromkeys(df[col_key]))
    grid = []
    for r, part in df.groupby(row_key, sort=False):
        grid.append([(f"{r} / {c}", part[part[col_key] == c]) for c in cols])
    return grid


def tradeoff(
    df: pd.DataFrame,
    x: str,
    xlabel: str,
    png: str | Path,
    svg: str | Path,
    title: str,
    maximize_x: bool = False,
    log_x: bool = False,
    panel_by: Sequence[str] = ("model",),
    colour_by: str = "variant",
    marker_by: str = "dtype",
    note: str = "",
    marker_label: str = "{}",
    label_by: str | None = None,
    hollow_by: str | None = None,
) -> None:
    """Accuracy against one cost per panel (by model, optionally x a second key), Pareto front
    marked.

    `marker_label` formats the legend entry of a marker value, `label_by` names the column that
    labels front points (default: colour and marker values), `hollow_by` a boolean column whose
    true rows are drawn hollow (the throughput figure: ran in another precision than the file).
    """
    df = df[
        np.isfinite(df[x].astype(float)) & np.isfinite(df["accuracy_pct"].astype(float))
    ].reset_index(drop=True)
    grid = _grid(df, panel_by)
    n_rows, n_cols = len(grid), max(len(row) for row in grid)
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=(5.2 * n_cols, 3.9 * n_rows + 0.9), squeeze=False
    )
    colour_keys = list(dict.fromkeys(df[colour_by])) if len(df) else []
    colours = dict(zip(colour_keys, plt.cm.tab10(np.linspace(0, 1, max(len(colour_keys), 2)))))
    for axes_row, panels in zip(axes, grid):
        for ax, (name, part) in zip(axes_row, panels):
            if part is None or not len(part):
                ax.text(
                    0.5, 0.5, "no measured points", ha="center", va="center", transform=ax.transAxes
                )
                continue
            for _, row in part.iterrows():
                colour = colours[row[colour_by]]
                ax.scatter(
                    row[x],
                    row["accuracy_pct"],
                    facecolors="none" if hollow_by and row[hollow_by] else colour,
                    edgecolors=colour,
                    marker=DTYPE_MARKERS.get(row[marker_by], "o"),
                    s=36,
                    zorder=3,
                )
            front = part.iloc[
                pareto_front(part[x].astype(float), part["accuracy_pct"].astype(float), maximize_x)
            ]
            ax.plot(
                front[x],
                front["accuracy_pct"],
                color="crimson",
                linewidth=1.2,
                zorder=2,
                drawstyle="steps-pre" if maximize_x else "steps-post",
            )
            ax.scatter(
                front[x],
                front["accuracy_pct"],
                s=140,
                facecolors="none",
                edgecolors="crimson",
                linewidths=1.2,
                zorder=4,
            )
            for _, row in front.iterrows():
                ax.annotate(
                    row[label_by] if label_by else f"{row[colour_by]} {row[marker_by]}",
                    (row[x], row["accuracy_pct"]),
                    textcoords="offset points",
                    xytext=(5, 4),
                    fontsize=6.5,
                    color="crimson",
                )
            ax.set_title(name)
            ax.set_xlabel(xlabel)
            ax.set_ylabel("test accuracy (%)")
            if log_x:
                _log_axis(ax)
            ax.grid(True, alpha=0.3)
    handles = [
        plt.Line2D([], [], color=c, marker="o", linestyle="", label=str(k))
        for k, c in colours.items()
    ]
    handles += [
        plt.Line2D([], [], color="grey", marker=m, linestyle="", label=marker_label.format(d))
        for d, m in DTYPE_MARKERS.items()
        if len(df) and d in set(df[marker_by])
    ]
    if hollow_by and len(df) and df[hollow_by].any():
        handles.append(
            plt.Line2D(
                [],
                [],
                color="grey",
                marker="o",
                markerfacecolor="none",
                linestyle="",
                label=f"hollow: {hollow_by.replace('_', ' ')}",
            )
        )
    handles.append(
        plt.Line2D(
            [], [], color="crimson", marker="o", markerfacecolor="none", label="Pareto front"
        )
    )
    fig.legend(
        handles=handles, loc="lower center", ncol=min(len(handles), 8), bbox_to_anchor=(0.5, 0.0)
    )
    fig.suptitle(title + (f"\n{note}" if note else ""))
    fig.tight_layout(rect=(0, 0.55 / (3.9 * n_rows + 0.9), 1, 1))
    save(fig, png, svg)
