"""Per-model figures (accuracy vs SNR, confusion matrices, training curves) and what every
figure shares: dtype markers, font sizes, and atomic PNG + SVG writing."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from amrcomp.atomic import atomic_path

# File dtypes and executed precisions (amrcomp.precision: mixed, unknown) share one marker set.
DTYPE_MARKERS = {
    "fp32": "o",
    "fp16": "s",
    "bf16": "v",
    "dynamic": "D",
    "int8": "^",
    "mixed": "P",
    "unknown": "X",
}
plt.rcParams.update(
    {
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.labelsize": 9,
        "legend.fontsize": 7.5,
        "svg.fonttype": "none",
    }
)


def save(fig, png: str | Path, svg: str | Path) -> None:
    """Write PNG and SVG atomically, then release the figure."""
    for path, fmt in ((png, "png"), (svg, "svg")):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight")
    plt.close(fig)


def _snr_curve(record: dict[str, Any]) -> tuple[list[int], list[float]]:
    per_snr = record["accuracy_per_snr"]
    snrs = sorted(per_snr, key=int)
    return [int(s) for s in snrs], [100.0 * per_snr[s] for s in snrs]


def accuracy_vs_snr(
    model: str,
    keras_records: Iterable[dict[str, Any]],
    tflite_records: Iterable[dict[str, Any]],
    png: str | Path,
    svg: str | Path,
) -> None:
    """Left: every Keras variant; right: every TFLite dtype of the Table IV variants."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    panels = (
        (axes[0], list(keras_records), "Keras (fp32) per variant", lambda r: r["variant"]),
        (
            axes[1],
            list(tflite_records),
            "TFLite per variant and dtype",
            lambda r: f"{r['variant']} {r['dtype']}",
        ),
    )
    for ax, records, title, label in panels:
        colours = plt.cm.tab20(np.linspace(0, 1, max(len(records), 2)))
        for colour, record in zip(colours, records):
            snrs, acc = _snr_curve(record)
            ax.plot(
                snrs,
                acc,
                marker=DTYPE_MARKERS.get(record.get("dtype"), "o"),
                markersize=3,
                linewidth=1.2,
                color=colour,
                label=f"{label(record)} ({record['accuracy_pct']:.1f} %)",
            )
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


def _confusion_panel(ax, counts: np.ndarray, classes: list[str], title: str) -> Any:
    """One row-normalised confusion matrix; returns the image, which the shared colour bar needs."""
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
                    ax.text(
                        j,
                        i,
                        f"{pct[i, j]:.0f}",
                        ha="center",
                        va="center",
                        fontsize=6.5,
                        color="white" if pct[i, j] > 60 else "black",
                    )
    return image


def confusion_matrices(
    model: str, record: dict[str, Any], png: str | Path, svg: str | Path
) -> None:
    """Row-normalised confusion (% of each true class) over all SNRs and at the highest SNR."""
    classes = record.get("classes") or [str(i) for i in range(len(record["confusion"]))]
    top = max(record["confusion_per_snr"], key=int)
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 5.4), layout="constrained")
    _confusion_panel(axes[0], record["confusion"], classes, "all SNRs")
    image = _confusion_panel(axes[1], record["confusion_per_snr"][top], classes, f"SNR {top} dB")
    axes[1].set_ylabel("")
    fig.colorbar(image, ax=axes, shrink=0.8, label="share of true class (%)")
    fig.suptitle(
        f"{model} {record['variant']} "
        f"({record.get('backend', 'keras')} {record.get('dtype', 'fp32')}): confusion matrices"
    )
    save(fig, png, svg)


def _curve(ax, history: pd.DataFrame, metric: str, label: str, colour) -> None:
    if metric in history:
        ax.plot(
            history["epoch"],
            history[metric],
            color=colour,
            linestyle="--",
            marker="x",
            markersize=4,
            linewidth=1,
            label=f"{label} train",
        )
    if f"val_{metric}" in history:
        ax.plot(
            history["epoch"],
            history[f"val_{metric}"],
            color=colour,
            marker="o",
            markersize=3,
            linewidth=1.3,
            label=f"{label} val",
        )


def training_curves(
    model: str,
    baseline: pd.DataFrame,
    finetunes: dict[str, pd.DataFrame],
    png: str | Path,
    svg: str | Path,
) -> None:
    """Loss and accuracy per epoch: baseline training (top) and each pruning fine-tune (bottom)."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    for col, (metric, unit) in enumerate(
        (("loss", "categorical cross-entropy"), ("accuracy", "accuracy (fraction)"))
    ):
        _curve(axes[0, col], baseline, metric, "baseline", "black")
        axes[0, col].set_title(f"baseline training: {metric}")
        colours = plt.cm.tab10(np.linspace(0, 1, max(len(finetunes), 2)))
        for colour, (variant, history) in zip(colours, finetunes.items()):
            _curve(axes[1, col], history, metric, variant, colour)
        axes[1, col].set_title(
            f"pruning fine-tune: {metric}" if finetunes else "no pruned variants"
        )
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
