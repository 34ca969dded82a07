"""Tables I, II and IV from the stages' JSON records, and what every table builder shares.

Every builder (here, in `pruning`, `deployment` and `energy`) takes the paths its rule lists as
inputs (and nothing else from disk) plus the config's `models` mapping, whose `paper_name`
decides which rows get the paper's values. Rows keep the order of the paths, which the rules give
model-major as in the paper.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from amrcomp import paper, records
from amrcomp.tables.schema import frame

COUNTED_TYPES = ("Conv2D", "Dense")
# Bytes of one weight in a .tflite file of each dtype (dynamic: int8 weights): parameters times
# this is the least a file of the model can hold, whatever a printed size says.
WEIGHT_BYTES = {"fp32": 4, "fp16": 2, "dynamic": 1, "int8": 1}


def require_keras_eval(
    index: dict[tuple[str, str], Any], model: str, variant: str, table: str, path: str | Path
) -> tuple[str, str]:
    """The (model, variant) key of `path`'s record, after checking that the rule's inputs hold its
    Keras evaluation (a rule listing too few inputs fails naming the missing file)."""
    if (model, variant) not in index:
        raise ValueError(
            f"{table}: {path} has no Keras evaluation of {model}/{variant} among the inputs "
            f"(results/eval/{model}/{variant}-fp32.json)"
        )
    return model, variant


def paper_name(models: dict[str, Any], model: str) -> str | None:
    """The paper's label of a configured model, or None when it has none (or an unknown one)."""
    if model not in models:
        raise ValueError(
            f"record of model {model!r}, which is not in the config's models {sorted(models)}"
        )
    name = models[model]["paper_name"]
    return name if paper.known(name) else None


def _prod(shape: str) -> int:
    return math.prod(int(d) for d in shape.split("x")) if shape else 0


def bias_adds(row: dict[str, Any]) -> int:
    """Bias additions of a Conv2D/Dense row: one per output element when the layer has a bias."""
    if row["type"] not in COUNTED_TYPES or row["params"] <= row["kernel_params"]:
        return 0
    return _prod(row["output_shape"])


def ops_summary(layers: list[dict[str, Any]]) -> dict[str, float]:
    """MACs, effective MACs and the paper's 'FLOPS (M)' (MACs + bias adds), in millions."""
    macs = sum(r["macs"] for r in layers)
    effective = sum(r["effective_macs"] for r in layers)
    adds = sum(bias_adds(r) for r in layers)
    return {
        "macs_m": macs / 1e6,
        "effective_macs_m": effective / 1e6,
        "mflops_dense": (macs + adds) / 1e6,
        "mflops_effective": (effective + adds) / 1e6,
    }


def sparsity_pct(nonzero_params: int, baseline_params: int) -> float:
    """Share of the baseline's parameters that pruning zeroed or removed, in percent."""
    return 100.0 * (1.0 - nonzero_params / baseline_params) if baseline_params else float("nan")


# --- Table I -------------------------------------------------------------------------------


def table1(eval_paths: Sequence[str | Path], models: dict[str, Any]) -> pd.DataFrame:
    """Layers of each baseline (from its Keras evaluation) beside the paper's Table I."""
    rows = []
    for path in eval_paths:
        record = records.keras_eval(path)
        records.check_identity(record, path, variant="baseline")
        model, label = record["model"], paper_name(models, record["model"])
        layers = record["layers"]
        published = paper.TABLE1.get(label) if label else None
        if published and [t for t, _, _ in published] != [r["type"] for r in layers]:
            published = None  # a different architecture under the paper's label: no per-layer match
        for i, layer in enumerate(layers):
            ref = published[i] if published else (None, None, None)
            rows.append(
                {
                    "model": model,
                    "paper_model": label,
                    "layer": layer["layer"],
                    "layer_type": layer["type"],
                    "units": layer["units"] or None,
                    "kernel": layer["kernel"] or None,
                    "output_shape": layer["output_shape"],
                    "params": layer["params"],
                    "macs": layer["macs"],
                    "bias_adds": bias_adds(layer),
                    "paper_layer_type": ref[0],
                    "paper_params": ref[1],
                    "paper_description": ref[2],
                    "params_diff": layer["params"] - ref[1] if ref[1] is not None else None,
                }
            )
        total = sum(r["params"] for r in layers)
        paper_total = paper.TOTAL_PARAMS.get(label) if label else None
        rows.append(
            {
                "model": model,
                "paper_model": label,
                "layer": "total",
                "layer_type": "Total",
                "params": total,
                "macs": sum(r["macs"] for r in layers),
                "bias_adds": sum(bias_adds(r) for r in layers),
                "paper_params": paper_total,
                "params_diff": total - paper_total if paper_total is not None else None,
            }
        )
    return frame("table1", rows)


# --- Table II ------------------------------------------------------------------------------


def table2(train_paths: Sequence[str | Path], models: dict[str, Any]) -> pd.DataFrame:
    """Training hyperparameters actually used (train.json) beside the paper's Table II."""
    rows = []
    for path in train_paths:
        used = records.train_summary(path)
        label = paper_name(models, used["model"])
        ref = {f"paper_{k}": v for k, v in paper.TABLE2.items()} if label else {}
        rows.append(
            {
                "model": used["model"],
                "paper_model": label,
                **{k: used[k] for k in records.TRAIN_KEYS if k != "model"},
                "best_val_loss": used.get("best_val_loss"),
                "train_frames": used.get("train_frames"),
                "train_seconds": used.get("seconds"),
                "precision": used["precision"]["used"],
                "precision_reason": used["precision"]["reason"],
                "train_devices": records.devices_used(used, path),
                **ref,
            }
        )
    return frame("table2", rows)


# --- Table IV ------------------------------------------------------------------------------


def table4(
    tflite_paths: Sequence[str | Path], keras_paths: Sequence[str | Path], models: dict[str, Any]
) -> pd.DataFrame:
    """TFLite accuracy and size per variant and dtype beside the paper's Table IV (baseline)."""
    keras_acc, params = {}, {}
    for path in keras_paths:
        record = records.keras_eval(path)
        keras_acc[(record["model"], record["variant"])] = record["accuracy_pct"]
        params[(record["model"], record["variant"])] = record["totals"]["params"]
    loaded = [(path, records.tflite_eval(path)) for path in tflite_paths]
    fp32_size = {
        (r["model"], r["variant"]): r["size_bytes"] for _, r in loaded if r["dtype"] == "fp32"
    }
    rows = []
    for path, record in loaded:
        model, variant, dtype = record["model"], record["variant"], record["dtype"]
        key = require_keras_eval(keras_acc, model, variant, "table4", path)
        label = paper_name(models, model)
        ref = paper.TABLE4.get(label, {}).get(dtype) if label and variant == "baseline" else None
        rows.append(
            {
                "model": model,
                "paper_model": label,
                "variant": variant,
                "dtype": dtype,
                "paper_dtype": paper.TABLE4_DTYPE_LABELS.get(dtype),
                "accuracy_pct": record["accuracy_pct"],
                "keras_accuracy_pct": keras_acc[key],
                **records.sizes_mib(record),
                "weights_mib": params[key] * WEIGHT_BYTES[dtype] / records.MIB,
                "compression_x": fp32_size[key] / record["size_bytes"]
                if key in fp32_size
                else None,
                "paper_accuracy_pct": ref[0] if ref else None,
                "paper_size_mib": ref[1] if ref else None,
            }
        )
    return frame("table4", rows)
