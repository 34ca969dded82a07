"""Per-(class, SNR) block split, identical for every model
(paper: 600/200/200 of 1000, seed 2016)."""

from __future__ import annotations

import numpy as np


def split_blocks(
    labels: np.ndarray, snr: np.ndarray, fractions: tuple[float, float, float], seed: int
) -> dict[str, np.ndarray]:
    """Indices of train/val/test drawn at random inside each (class, SNR) block.

    Each block is permuted with one seeded generator, in sorted block order, so the split
    depends only on the seed and the block sizes, not on the order frames arrived in.
    """
    total = sum(fractions)
    if not np.isclose(total, 1.0) or min(fractions) < 0:
        raise ValueError(f"dataset.split fractions must be >= 0 and sum to 1; got {fractions}")
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    keys = np.stack([labels, snr], axis=1)
    for label, s in sorted({(int(a), int(b)) for a, b in keys}):
        block = np.flatnonzero((labels == label) & (snr == s))
        block = block[rng.permutation(len(block))]
        n_train = int(round(fractions[0] * len(block)))
        n_val = int(round(fractions[1] * len(block)))
        parts["train"].append(block[:n_train])
        parts["val"].append(block[n_train : n_train + n_val])
        parts["test"].append(block[n_train + n_val :])
    return {
        name: np.sort(np.concatenate(p)) if p else np.empty(0, dtype=np.int64)
        for name, p in parts.items()
    }
