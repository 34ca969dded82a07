"""Per-layer cost of a tf_keras model: parameters, nonzero parameters, MACs and bit operations.

Shared by pruning (effective MACs), energy (bit operations) and the tables (Table I), so the
three agree on one definition: a MAC is one multiply-accumulate of a Conv2D or Dense kernel
(bias adds and pooling are not MACs); effective MACs scale each layer by its kernel density.
"""

from __future__ import annotations

from typing import Any

import numpy as np

COUNTED_TYPES = ("Conv2D", "Dense")


def _kernel_and_bias(layer) -> tuple[np.ndarray | None, np.ndarray | None]:
    weights = {w.name.split("/")[-1].split(":")[0]: w.numpy() for w in layer.weights}
    return weights.get("kernel"), weights.get("bias")


def layer_costs(model) -> list[dict[str, Any]]:
    """One row per layer that has parameters or MACs, in model order."""
    rows: list[dict[str, Any]] = []
    for layer in model.layers:
        kind = type(layer).__name__
        params = int(layer.count_params())
        if params == 0 and kind not in COUNTED_TYPES:
            continue
        kernel, bias = _kernel_and_bias(layer)
        out_shape = tuple(int(d) for d in layer.output_shape[1:])
        macs = 0
        row: dict[str, Any] = {
            "layer": layer.name,
            "type": kind,
            "output_shape": "x".join(map(str, out_shape)),
        }
        if kind == "Conv2D":
            kh, kw, cin, cout = kernel.shape
            macs = int(np.prod(out_shape[:-1])) * kh * kw * cin * cout
            row.update(units=int(cout), kernel="x".join(map(str, (kh, kw))))
        elif kind == "Dense":
            cin, cout = kernel.shape
            macs = int(cin) * int(cout)
            row.update(units=int(cout), kernel="")
        else:
            row.update(units=0, kernel="")
        kernel_size = int(kernel.size) if kernel is not None else 0
        kernel_nonzero = int(np.count_nonzero(kernel)) if kernel is not None else 0
        bias_nonzero = int(np.count_nonzero(bias)) if bias is not None else 0
        density = kernel_nonzero / kernel_size if kernel_size else 1.0
        row.update(
            params=params,
            kernel_params=kernel_size,
            nonzero_params=kernel_nonzero
            + bias_nonzero
            + (params - kernel_size - (bias.size if bias is not None else 0)),
            kernel_sparsity=1.0 - density if kernel_size else 0.0,
            macs=int(macs),
            effective_macs=int(round(macs * density)),
        )
        rows.append(row)
    return rows


def totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Sum parameters and MACs over the layer rows of one model."""
    keys = ("params", "nonzero_params", "kernel_params", "macs", "effective_macs")
    return {k: int(sum(r[k] for r in rows)) for k in keys}


def bit_operations(
    rows: list[dict[str, Any]], activation_bits: int, weight_bits: int
) -> dict[str, float]:
    """ITU-ML5G-PS-007 cost: MACs x act bits x weight bits and nonzero weights x weight bits,
    density-discounted."""
    bops = 0.0
    memory_bits = 0.0
    for r in rows:
        if r["type"] not in COUNTED_TYPES:
            continue
        density = 1.0 - r["kernel_sparsity"]
        bops += r["macs"] * density * activation_bits * weight_bits
        memory_bits += r["kernel_params"] * density * weight_bits
    return {"bit_operations": bops, "weight_memory_bits": memory_bits}
