"""95 % confidence intervals of test accuracies and of accuracy drops, and the acceptance rule.

A test split of a few thousand frames measures accuracy to about a point, so a drop of half a
point says nothing without its interval. Two models scored on the same frames are compared
frame by frame (paired): only the frames where exactly one of them is right carry the
difference, so when the two agree on most frames the paired interval of a drop is far
narrower than two independent intervals would suggest. Intervals are normal approximations
(z = 1.96): accuracy p +- 1.96 sqrt(p (1 - p) / n); a drop, with b the frames only the
reference gets right and c those only the variant gets right,
(b - c) / n +- 1.96 sqrt(b + c - (b - c)^2 / n) / n.
"""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.96
# The acceptance rule: a variant is good enough to deploy when its accuracy drop against its
# dense control (the same fine-tune without pruning, so the drop is the pruning's alone) is at
# most ACCEPT_DROP_PP points and the upper end of the drop's paired 95 % interval at most
# ACCEPT_DROP_CI_HIGH_PP: small, and shown to be small by the test split. The summary names
# each model's fastest variant meeting it; these two constants are the only home of the rule.
ACCEPT_DROP_PP = 1.0
ACCEPT_DROP_CI_HIGH_PP = 2.0


def accuracy_ci_pp(accuracy_pct: float, n: int) -> float:
    """Half-width in points of the 95 % interval of an accuracy measured on `n` frames."""
    if n < 1:
        raise ValueError("an accuracy interval needs at least one frame")
    p = accuracy_pct / 100.0
    return 100.0 * Z95 * math.sqrt(max(p * (1.0 - p), 0.0) / n)


def paired_drop_pp(reference: np.ndarray, variant: np.ndarray) -> tuple[float, float]:
    """(drop, half-width of its 95 % interval) in points: the reference's accuracy minus the
    variant's, from their per-frame correctness on the same frames (booleans, same order)."""
    reference, variant = np.asarray(reference, dtype=bool), np.asarray(variant, dtype=bool)
    if reference.shape != variant.shape or reference.ndim != 1:
        raise ValueError(
            f"paired frames must be two vectors of one length, got {reference.shape} and "
            f"{variant.shape}"
        )
    n = len(reference)
    if n < 1:
        raise ValueError("a paired difference needs at least one frame")
    b = int(np.count_nonzero(reference & ~variant))  # only the reference is right
    c = int(np.count_nonzero(~reference & variant))  # only the variant is right
    variance = max(b + c - (b - c) ** 2 / n, 0.0)  # >= 0 exactly; rounding may dip below
    return 100.0 * (b - c) / n, 100.0 * Z95 * math.sqrt(variance) / n


def accepted(drop_pp: float, ci_pp: float) -> bool:
    """The acceptance rule (see ACCEPT_DROP_PP): drop <= 1 point, drop + half-width <= 2."""
    if not (math.isfinite(drop_pp) and math.isfinite(ci_pp)):
        return False
    return drop_pp <= ACCEPT_DROP_PP and drop_pp + ci_pp <= ACCEPT_DROP_CI_HIGH_PP
