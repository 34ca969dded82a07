"""Structured pruning: drop the lowest-L1-norm filters/units and rebuild a genuinely smaller model.

Works on any single-chain graph (Sequential or functional without branches) of Conv2D, Dense,
pooling, dropout, activation and Flatten layers: the model's own config is edited (fewer
filters/units) and every kernel is sliced along its output channels and along the input
channels the previous layer kept; Flatten maps kept channels to the rows the next Dense keeps.
The output layer always keeps its n_classes units.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

import numpy as np

SLICED_TYPES = ("Conv2D", "Dense")
PASS_THROUGH_TYPES = (
    "InputLayer",
    "Dropout",
    "SpatialDropout2D",
    "GaussianNoise",
    "GaussianDropout",
    "Activation",
    "ReLU",
    "MaxPooling2D",
    "AveragePooling2D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
)


def keep_count(n: int, fraction: float) -> int:
    """Units left after removing round(n * fraction) of n (at least one)."""
    return max(1, n - int(round(n * fraction)))


def l1_keep(kernel: np.ndarray, fraction: float) -> np.ndarray:
    """Sorted indices of the output channels with the largest L1 norms (ties keep the earlier)."""
    norms = np.abs(kernel).reshape(-1, kernel.shape[-1]).sum(axis=0)
    order = np.argsort(-norms, kind="stable")
    return np.sort(order[: keep_count(kernel.shape[-1], fraction)])


def chain(model) -> list:
    """The model's layers in order, after checking each one feeds only the next (no branches)."""
    layers = list(model.layers)
    for prev, layer in zip(layers, layers[1:]):
        try:
            linked = layer.input is prev.output
        except AttributeError:  # a layer used more than once has no single input
            linked = False
        if not linked:
            raise ValueError(
                f"filter pruning needs a single-chain model; layer {layer.name!r} "
                f"does not take exactly {prev.name!r}'s output"
            )
    if model.outputs[0] is not layers[-1].output or len(model.outputs) != 1:
        raise ValueError(
            "filter pruning needs a single-output model ending in its last layer; "
            f"{model.name!r} does not"
        )
    return layers


def plan(
    model, fraction: float, skip: Iterable[str]
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """(layer -> kept output indices, layer -> why it keeps all its units) by L1 norm."""
    skip = set(skip)
    sliced = [layer for layer in chain(model) if type(layer).__name__ in SLICED_TYPES]
    if not sliced:
        raise ValueError(f"model {model.name!r} has no Conv2D or Dense layer to prune")
    keep: dict[str, np.ndarray] = {}
    reasons: dict[str, str] = {}
    for layer in sliced:
        n = int(layer.kernel.shape[-1])
        if layer is sliced[-1]:
            reasons[layer.name] = "output layer: keeps one unit per class"
        elif layer.name in skip:
            reasons[layer.name] = "listed in prune.skip_layers"
        if layer.name in reasons:
            keep[layer.name] = np.arange(n)
        else:
            keep[layer.name] = l1_keep(layer.kernel.numpy(), fraction)
    return keep, reasons


def _flatten_map(kept: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """Flattened indices of a (..., C) tensor that survive when only channels `kept` remain."""
    channels = int(input_shape[-1])
    positions = int(np.prod(input_shape[:-1]))
    return (np.arange(positions)[:, None] * channels + kept[None, :]).ravel()


def shrink(model, keep: dict[str, np.ndarray]):
    """A new model with only the `keep` outputs of each Conv2D/Dense and weights sliced to match."""
    config = model.get_config()
    entries = {entry["config"]["name"]: entry["config"] for entry in config["layers"]}
    for name, kept in keep.items():
        key = "filters" if "filters" in entries[name] else "units"
        entries[name][key] = int(len(kept))
    small = type(model).from_config(config)
    kept_in: np.ndarray | None = None  # indices of the current tensor's last axis that survive
    for layer in chain(model):
        kind = type(layer).__name__
        if kind in SLICED_TYPES:
            weights = layer.get_weights()
            kernel = weights[0]
            rows = np.arange(kernel.shape[-2]) if kept_in is None else kept_in
            out = keep[layer.name]
            sliced = [np.take(np.take(kernel, rows, axis=-2), out, axis=-1)]
            sliced += [w[out] for w in weights[1:]]  # bias
            small.get_layer(layer.name).set_weights(sliced)
            kept_in = out
        elif kind == "Flatten":
            if kept_in is not None:
                kept_in = _flatten_map(kept_in, tuple(layer.input_shape[1:]))
        elif kind not in PASS_THROUGH_TYPES:
            raise ValueError(
                f"filter pruning does not know how to slice layer {layer.name!r} of type {kind}; "
                f"supported: {SLICED_TYPES + ('Flatten',) + PASS_THROUGH_TYPES}"
            )
        elif layer.get_weights():
            raise ValueError(
                f"layer {layer.name!r} ({kind}) has weights; filter pruning cannot slice them"
            )
    return small


def layer_rows(
    model, small, keep: dict[str, np.ndarray], reasons: dict[str, str], fraction: float
) -> list[dict[str, Any]]:
    """Per Conv2D/Dense: units before/after, removed fraction, parameters before/after."""
    rows = []
    for name, kept in keep.items():
        before, after = model.get_layer(name), small.get_layer(name)
        n = int(before.kernel.shape[-1])
        rows.append(
            {
                "layer": name,
                "type": type(before).__name__,
                "pruned": name not in reasons,
                "reason": reasons.get(name),
                "units_before": n,
                "units_after": int(len(kept)),
                "target_sparsity": fraction if name not in reasons else 0.0,
                "achieved_sparsity": 1.0 - len(kept) / n,
                "params_before": int(before.count_params()),
                "params_after": int(after.count_params()),
            }
        )
    return rows


def prune_filters(
    model,
    fraction: float,
    skip: Iterable[str],
    tune: Callable[..., dict[str, Any]],
    log: logging.Logger,
):
    """Remove `fraction` of the filters/units of each layer by L1 norm, rebuild, fine-tune.

    Returns (smaller fine-tuned model, layer rows, fine-tune result).
    """
    keep, reasons = plan(model, fraction, skip)
    small = shrink(model, keep)
    rows = layer_rows(model, small, keep, reasons, fraction)
    for row in rows:
        log.info(
            "%s: %d -> %d units%s",
            row["layer"],
            row["units_before"],
            row["units_after"],
            f" ({row['reason']})" if row["reason"] else "",
        )
    log.info("parameters %d -> %d", model.count_params(), small.count_params())
    result = tune(small)
    return small, rows, result
