"""Figures of the study (matplotlib, Agg): accuracy vs SNR, confusion matrices, training curves,
and accuracy trade-offs against size, energy and throughput with the Pareto front marked.

Every function takes records or tables already read and a pair of output paths (PNG, SVG),
so the figure rules stay thin and the plots can be tested on synthetic inputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from amrcomp.atomic import atomic_path  # noqa: E402

DTYPE_MARKERS = {"fp32": "o", "fp16": "s", "dynamic": "D", "int8": "^"}
plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 7.5, "svg.fonttype": "none"})


def save(fig, png: str | Path, svg: str | Path) -> None:
    """Write PNG and SVG atomically, then release the figure."""
    for path, fmt in ((png, "png"), (svg, "svg")):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight")
    plt.close(fig)


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


def _snr_curve(record: dict[str, Any]) -> tuple[list[int], list[float]]:
    per_snr = record["accuracy_per_snr"]
    snrs = sorted(per_snr, key=int)
    return [int(s) for s in snrs], [100.0 * per_snr[s] for s in snrs]


def accuracy_vs_snr(model: str, keras_records: Iterable[dict[str, Any]], tflite_records: Iterable[dict[str, Any]], png: str | Path, svg: str | Path) -> None:
    """Left: every Keras variant; right: every TFLite dtype of the Table IV variants."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    panels = ((axes[0], list(keras_records), "Keras (fp32) per variant", lambda r: r["variant"]), (axes[1], list(tflite_records), "TFLite per variant and dtype", lambda r: f"{r['variant']} {r['dtype']}"))
    for ax, records, title, label in panels:
        colours = plt.cm.tab20(np.linspace(0, 1, max(len(records), 2)))
        for colour, record in zip(colours, records):
            snrs, acc = _snr_curve(record)
            ax.plot(snrs, acc, marker=DTYPE_MARKERS.get(record.get("dtype"), "o"), markersize=3, linewidth=1.2, color=colour, label=f"{label(record)} ({record['accuracy_pct']:.1f} %)")
        ax.set_title(title)
        ax.set_xlabel("SNR (dB)")
        ax.grid(True, alpha=0.3)
        if records:
            ax.legend(loc="upper left", ncol=1 if len(records) < 8 else 2)
        else:
            ax.text(0.5, 0.5, "no records", ha="center", va="center", transform=ax.transAxes)
    axes[0].set_ylabel("test accuracy (%)")
    axes[0].set_ylim(0, 100)
    fig.suptitle(f"{model}: accuracy vs SNR (legend: accuracy over all SNRs)")
    save(fig, png, svg)


def _confusion_panel(ax, counts: np.ndarray, classes: list[str], title: str) -> None:
    counts = np.asarray(counts, dtype=float)
    rows = counts.sum(axis=1, keepdims=True)
    pct = np.divide(100.0 * counts, rows, out=np.zeros_like(counts), where=rows > 0)
    image = ax.imshow(pct, cmap="Blues", vmin=0, vmax=100)
    ticks = np.arange(len(classes))
    ax.set_xticks(ticks, classes, rotation=60, ha="right")
    ax.set_yticks(ticks, classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    correct = np.trace(counts) / counts.sum() * 100 if counts.sum() else float("nan")
    ax.set_title(f"{title} (accuracy {correct:.1f} %)")
    if len(classes) <= 12:
        for i in range(len(classes)):
            for j in range(len(classes)):
                if pct[i, j] >= 0.5:
                    ax.text(j, i, f"{pct[i, j]:.0f}", ha="center", va="center", fontsize=6.5, color="white" if pct[i, j] > 60 else "black")
    return image


def confusion_matrices(model: str, record: dict[str, Any], png: str | Path, svg: str | Path) -> None:
    """Row-normalised confusion (% of each true class) over all SNRs and at the highest SNR."""
    classes = record.get("classes") or [str(i) for i in range(len(record["confusion"]))]
    top = max(record["confusion_per_snr"], key=int)
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 5.4), layout="constrained")
    _confusion_panel(axes[0], record["confusion"], classes, "all SNRs")
    image = _confusion_panel(axes[1], record["confusion_per_snr"][top], classes, f"SNR {top} dB")
    axes[1].set_ylabel("")
    fig.colorbar(image, ax=axes, shrink=0.8, label="share of true class (%)")
    fig.suptitle(f"{model} {record['variant']} ({record.get('backend', 'keras')} {record.get('dtype', 'fp32')}): confusion matrices")
    save(fig, png, svg)


def _curve(ax, history: pd.DataFrame, metric: str, label: str, colour) -> None:
    if metric in history:
        ax.plot(history["epoch"], history[metric], color=colour, linestyle="--", marker="x", markersize=4, linewidth=1, label=f"{label} train")
    if f"val_{metric}" in history:
        ax.plot(history["epoch"], history[f"val_{metric}"], color=colour, marker="o", markersize=3, linewidth=1.3, label=f"{label} val")


def training_curves(model: str, baseline: pd.DataFrame, finetunes: dict[str, pd.DataFrame], png: str | Path, svg: str | Path) -> None:
    """Loss and accuracy per epoch: baseline training (top) and each pruning fine-tune (bottom)."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    for col, (metric, unit) in enumerate((("loss", "categorical cross-entropy"), ("accuracy", "accuracy (fraction)"))):
        _curve(axes[0, col], baseline, metric, "baseline", "black")
        axes[0, col].set_title(f"baseline training: {metric}")
        colours = plt.cm.tab10(np.linspace(0, 1, max(len(finetunes), 2)))
        for colour, (variant, history) in zip(colours, finetunes.items()):
            _curve(axes[1, col], history, metric, variant, colour)
        axes[1, col].set_title(f"pruning fine-tune: {metric}" if finetunes else "no pruned variants")
        for row in (0, 1):
            ax = axes[row, col]
            ax.set_xlabel("epoch")
            ax.set_ylabel(unit)
            ax.grid(True, alpha=0.3)
            if ax.lines:
                ax.legend(ncol=2 if len(ax.lines) > 6 else 1)
    fig.suptitle(f"{model}: training curves (dashed: training split, solid: validation split)")
    fig.tight_layout()
    save(fig, png, svg)


def _log_axis(ax) -> None:
    """Log x axis labelled at 1-2-5 steps in plain numbers (no overlapping minor labels)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 10 else f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _grid(df: pd.DataFrame, panel_by: Sequence[str]) -> list[list[tuple[str, pd.DataFrame | None]]]:
    """Panels as rows x columns: one key gives one row of panels, two keys a grid (rows: first key)."""
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


def tradeoff(df: pd.DataFrame, x: str, xlabel: str, png: str | Path, svg: str | Path, title: str, maximize_x: bool = False, log_x: bool = False, panel_by: Sequence[str] = ("model",), colour_by: str = "variant", marker_by: str = "dtype", note: str = "") -> None:
    """Accuracy against one cost per panel (by model, optionally x a second key), Pareto front marked."""
    df = df[np.isfinite(df[x].astype(float)) & np.isfinite(df["accuracy_pct"].astype(float))].reset_index(drop=True)
    grid = _grid(df, panel_by)
    n_rows, n_cols = len(grid), max(len(row) for row in grid)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(5.2 * n_cols, 3.9 * n_rows + 0.9), squeeze=False)
    colour_keys = list(dict.fromkeys(df[colour_by])) if len(df) else []
    colours = dict(zip(colour_keys, plt.cm.tab10(np.linspace(0, 1, max(len(colour_keys), 2)))))
    for axes_row, panels in zip(axes, grid):
        for ax, (name, part) in zip(axes_row, panels):
            if part is None or not len(part):
                ax.text(0.5, 0.5, "no measured points", ha="center", va="center", transform=ax.transAxes)
                continue
            for _, row in part.iterrows():
                ax.scatter(row[x], row["accuracy_pct"], color=colours[row[colour_by]], marker=DTYPE_MARKERS.get(row[marker_by], "o"), s=36, zorder=3)
            front = part.iloc[pareto_front(part[x].astype(float), part["accuracy_pct"].astype(float), maximize_x)]
            ax.plot(front[x], front["accuracy_pct"], color="crimson", linewidth=1.2, zorder=2, drawstyle="steps-pre" if maximize_x else "steps-post")
            ax.scatter(front[x], front["accuracy_pct"], s=140, facecolors="none", edgecolors="crimson", linewidths=1.2, zorder=4)
            for _, row in front.iterrows():
                ax.annotate(f"{row[colour_by]} {row[marker_by]}", (row[x], row["accuracy_pct"]), textcoords="offset points", xytext=(5, 4), fontsize=6.5, color="crimson")
            ax.set_title(name)
            ax.set_xlabel(xlabel)
            ax.set_ylabel("test accuracy (%)")
            if log_x:
                _log_axis(ax)
            ax.grid(True, alpha=0.3)
    handles = [plt.Line2D([], [], color=c, marker="o", linestyle="", label=str(k)) for k, c in colours.items()]
    handles += [plt.Line2D([], [], color="grey", marker=m, linestyle="", label=d) for d, m in DTYPE_MARKERS.items() if len(df) and d in set(df[marker_by])]
    handles.append(plt.Line2D([], [], color="crimson", marker="o", markerfacecolor="none", label="Pareto front"))
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 8), bbox_to_anchor=(0.5, 0.0))
    fig.suptitle(title + (f"\n{note}" if note else ""))
    fig.tight_layout(rect=(0, 0.55 / (3.9 * n_rows + 0.9), 1, 1))
    save(fig, png, svg)
