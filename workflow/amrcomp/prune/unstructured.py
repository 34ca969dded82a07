"""Unstructured (magnitude) and 2:4 (m_by_n) pruning with tfmot, fine-tuned, then stripped.

tfmot updates a mask only on steps where (step - begin_step) % frequency == 0, counted from 1,
so a short fine-tune (fewer steps than `frequency`) would never prune at all. The masks are
therefore computed once explicitly before fine-tuning (the paper's begin_step=0) and once more
after it, through the wrappers' own mask code, so the saved model always carries the target
sparsity; the schedule keeps updating them every `frequency` steps in between. The summary
records how many updates the schedule made: with none, the variant was pruned one-shot.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

import numpy as np

from amrcomp.tfsetup import keras

PRUNABLE_TYPES = ("Conv2D", "Dense")
# Why these fine-tunes run in fp32 on a bf16 host (tests/test_mixed.py reproduces both faults,
# so a tfmot that fixes them fails that test and this fall-back can go).
TFMOT_BF16 = (
    "tfmot's pruning wrappers mishandle mixed_bfloat16: a wrapper in the float32 policy runs its "
    "layer in float32 (no bf16 compute), one in the mixed policy rounds the layer's float32 "
    "weights to bf16 on every step (its masking runs inside the bf16 autocast scope)"
)


def is_prunable(layer) -> bool:
    """Conv2D and Dense layers are pruned; everything else has no kernel to prune."""
    return type(layer).__name__ in PRUNABLE_TYPES


def m_by_n_reason(layer, m_by_n: tuple[int, int]) -> str | None:
    """Why a layer cannot be m:n pruned along its input dimension, or None when it can."""
    cin = int(layer.kernel.shape[-2])
    if cin < m_by_n[1]:
        return (
            f"input dimension {cin} < {m_by_n[1]}: a {m_by_n[0]}:{m_by_n[1]} group needs "
            f"{m_by_n[1]} consecutive input channels, so no weight could be removed; left dense"
        )
    return None


def plan_layers(
    model, skip: Iterable[str], m_by_n: tuple[int, int] | None
) -> dict[str, str | None]:
    """Prunable layer name -> None (prune it) or the reason it stays dense, in model order."""
    skip = set(skip)
    plan: dict[str, str | None] = {}
    for layer in model.layers:
        if not is_prunable(layer):
            continue
        if layer.name in skip:
            plan[layer.name] = "listed in prune.skip_layers"
        else:
            plan[layer.name] = m_by_n_reason(layer, m_by_n) if m_by_n else None
    return plan


def wrap(
    model,
    target: float,
    frequency: int,
    plan: dict[str, str | None],
    m_by_n: tuple[int, int] | None,
):
    """Clone `model` with prune_low_magnitude wrappers around the planned layers
    (weights shared)."""
    import tensorflow_model_optimization as tfmot

    schedule = tfmot.sparsity.keras.ConstantSparsity(target, begin_step=0, frequency=int(frequency))

    def clone(layer):
        if layer.name in plan and plan[layer.name] is None:
            return tfmot.sparsity.keras.prune_low_magnitude(
                layer, pruning_schedule=schedule, sparsity_m_by_n=m_by_n
            )
        return layer

    return keras().models.clone_model(model, clone_function=clone)


def wrappers(model) -> list:
    from tensorflow_model_optimization.python.core.sparsity.keras.pruning_wrapper import (
        PruneLowMagnitude,
    )

    return [layer for layer in model.layers if isinstance(layer, PruneLowMagnitude)]


def apply_masks(model) -> None:
    """Recompute every wrapper's mask now (tfmot's own mask code) and zero the masked weights.

    Uses the wrapper's `pruning_obj`, the same code tfmot runs on its scheduled steps, so magnitude
    and m_by_n masks are exactly what a scheduled update would give.
    """
    for layer in wrappers(model):
        for weight, mask, threshold in layer.pruning_vars:
            new_threshold, new_mask = layer.pruning_obj._maybe_update_block_mask(weight)
            mask.assign(new_mask)
            threshold.assign(new_threshold)
        layer.pruning_obj.weight_mask_op()


def schedule_updates(steps: int, frequency: int | None, m_by_n: tuple[int, int] | None) -> int:
    """Mask updates tfmot's schedule makes in a fine-tune of `steps` steps.

    The wrappers count steps from 1 and ConstantSparsity(begin_step=0) updates on every multiple
    of `frequency`; tfmot updates a 2:4 mask at step 1 only, whatever the frequency.
    """
    if m_by_n:
        return min(steps, 1)
    if frequency is None:
        raise ValueError("magnitude pruning needs a schedule frequency")
    return steps // frequency


def m_by_n_holds(kernel: np.ndarray, m_by_n: tuple[int, int]) -> bool:
    """True when every group of n consecutive input-dimension weights has at least m zeros.

    Groups run along the input dimension (axis -2 of a tf kernel), as TFLite/TensorRT store
    sparse weights; a short tail group is zero-padded, as tfmot pads it.
    """
    m, n = m_by_n
    rows = np.moveaxis(np.asarray(kernel), -2, -1).reshape(-1, kernel.shape[-2])
    pad = (-rows.shape[1]) % n
    groups = np.pad(rows, ((0, 0), (0, pad))).reshape(-1, n)
    return bool(np.all(np.count_nonzero(groups, axis=1) <= n - m))


def kernel_sparsity(layer) -> float:
    kernel = layer.kernel.numpy()
    return float(1.0 - np.count_nonzero(kernel) / kernel.size)


def layer_rows(
    model, plan: dict[str, str | None], target: float, m_by_n: tuple[int, int] | None
) -> list[dict[str, Any]]:
    """One row per Conv2D/Dense of the stripped model: pruned or why not,
    target and achieved sparsity."""
    rows = []
    for layer in model.layers:
        if layer.name not in plan:
            continue
        kernel = layer.kernel.numpy()
        row: dict[str, Any] = {
            "layer": layer.name,
            "type": type(layer).__name__,
            "pruned": plan[layer.name] is None,
            "reason": plan[layer.name],
            "kernel_params": int(kernel.size),
            "target_sparsity": target if plan[layer.name] is None else 0.0,
            "achieved_sparsity": kernel_sparsity(layer),
        }
        if m_by_n:
            row["m_by_n_pattern"] = m_by_n_holds(kernel, m_by_n)
            if row["pruned"] and kernel.shape[-2] % m_by_n[1]:
                row["note"] = (
                    f"input dimension {kernel.shape[-2]} is not a multiple of {m_by_n[1]}: "
                    "the last, shorter group of each row stays dense"
                )
        rows.append(row)
    return rows


def check_magnitude(rows: list[dict[str, Any]], target: float) -> None:
    """Every pruned layer must reach the target within 1 % (or one weight, for tiny kernels)."""
    for row in rows:
        if not row["pruned"]:
            continue
        tolerance = max(0.01, 1.0 / row["kernel_params"])
        if abs(row["achieved_sparsity"] - target) > tolerance:
            raise RuntimeError(
                f"layer {row['layer']}: achieved sparsity {row['achieved_sparsity']:.4f} "
                f"differs from the target {target:.4f} by more than {tolerance:.4f}; "
                "the final pruning mask was not applied"
            )


def prune_unstructured(
    model,
    target: float,
    frequency: int,
    skip: Iterable[str],
    m_by_n: tuple[int, int] | None,
    tune: Callable[..., dict[str, Any]],
    log: logging.Logger,
):
    """Wrap, mask at step 0, fine-tune with UpdatePruningStep, mask again, strip.

    Returns (stripped model, layer rows, fine-tune result, settings used).
    """
    import tensorflow_model_optimization as tfmot

    plan = plan_layers(model, skip, m_by_n)
    for name, reason in plan.items():
        log.info("%s: %s", name, "pruned" if reason is None else f"not pruned ({reason})")
    if all(reason is not None for reason in plan.values()):
        raise ValueError(
            f"no layer of {model.name!r} can be pruned ({plan}); shorten prune.skip_layers"
        )
    wrapped = wrap(model, target, frequency, plan, m_by_n)
    apply_masks(wrapped)
    result = tune(wrapped, [tfmot.sparsity.keras.UpdatePruningStep()])
    apply_masks(wrapped)
    stripped = tfmot.sparsity.keras.strip_pruning(wrapped)
    rows = layer_rows(stripped, plan, 0.5 if m_by_n else target, m_by_n)
    if m_by_n:
        broken = [r["layer"] for r in rows if r["pruned"] and not r["m_by_n_pattern"]]
        if broken:
            raise RuntimeError(
                f"layers {broken} do not hold the {m_by_n[0]}:{m_by_n[1]} pattern after fine-tuning"
            )
    else:
        check_magnitude(rows, target)
    for row in rows:
        log.info(
            "%s: sparsity %.4f (target %.4f)",
            row["layer"],
            row["achieved_sparsity"],
            row["target_sparsity"],
        )
    settings = {
        "tool": f"tensorflow_model_optimization {tfmot.__version__}",
        "schedule": "ConstantSparsity",
        "begin_step": 0,
        "frequency": None if m_by_n else int(frequency),
        "sparsity_m_by_n": list(m_by_n) if m_by_n else None,
        "masks_applied": (
            "before fine-tuning (step 0), on tfmot's schedule during it, and once after it"
        ),
        "explicit_mask_applications": 2,  # the apply_masks calls around the fine-tune
    }
    return stripped, rows, result, settings
