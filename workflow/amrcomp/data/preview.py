"""Preview figures of a data set: one PNG per class, so a reader can see what the frames look like.

Each figure has one row per shown SNR: the I/Q time series of one frame, the constellation of
several frames of that (class, SNR) block, and their average power spectrum. Drawn with the Agg
canvas directly (no pyplot, no global backend switch) and written atomically.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from amrcomp.atomic import atomic_path

FRAMES_PER_PANEL = 32


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _closest(available: np.ndarray, wanted: Sequence[int]) -> list[int]:
    """The available SNRs nearest to the wanted ones, without repeats, in wanted order."""
    picked: list[int] = []
    for s in wanted:
        best = int(available[np.argmin(np.abs(available - s))])
        if best not in picked:
            picked.append(best)
    return picked


def plot_preview(
    x: np.ndarray,
    labels: np.ndarray,
    snr: np.ndarray,
    classes: Sequence[str],
    out_dir: str | Path,
    snrs_to_show: Sequence[int] = (-10, 0, 18),
) -> list[Path]:
    """Write `{out_dir}/{class}.png` for every class that has frames; return the paths written.

    SNRs missing from the data are replaced by the nearest available ones.
    """
    out_dir = Path(out_dir)
    written: list[Path] = []
    for ci, name in enumerate(classes):
        mine = labels == ci
        if not mine.any():
            continue
        shown = _closest(np.unique(snr[mine]), snrs_to_show)
        fig = Figure(figsize=(12, 3 * len(shown)), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(len(shown), 3, squeeze=False)
        for row, s in zip(axes, shown):
            frames = x[np.flatnonzero(mine & (snr == s))[:FRAMES_PER_PANEL]]
            _draw_row(row, frames, f"{name}, {s} dB")
        path = out_dir / f"{_safe_name(name)}.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=80)
        written.append(path)
    return written


def _draw_row(row: Sequence, frames: np.ndarray, title: str) -> None:
    """Time series of the first frame, constellation and mean spectrum of all given frames."""
    iq = frames[:, 0, :] + 1j * frames[:, 1, :]
    time_ax, const_ax, spec_ax = row
    time_ax.plot(frames[0, 0], label="I", lw=1)
    time_ax.plot(frames[0, 1], label="Q", lw=1)
    time_ax.set(title=f"{title}: I/Q of one frame", xlabel="sample")
    time_ax.legend(loc="upper right", fontsize="small")
    const_ax.plot(iq.real.ravel(), iq.imag.ravel(), ".", ms=1.5, alpha=0.5)
    const_ax.set(title=f"{len(frames)} frames", xlabel="I", ylabel="Q", aspect="equal")
    power = np.mean(np.abs(np.fft.fftshift(np.fft.fft(iq, axis=1), axes=1)) ** 2, axis=0)
    freq = np.fft.fftshift(np.fft.fftfreq(iq.shape[1]))
    spec_ax.plot(freq, 10 * np.log10(power + 1e-20), lw=1)
    spec_ax.set(title="mean power spectrum", xlabel="frequency (cycles/sample)", ylabel="dB")
