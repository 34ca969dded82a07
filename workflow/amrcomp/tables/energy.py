"""Energy tables: qtools energy per inference beside the matching model's accuracy, and the
per-layer terms behind it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from amrcomp import paper, records
from amrcomp.tables.build import paper_name
from amrcomp.tables.schema import frame
from amrcomp.variants import ENERGY_ACCURACY_SOURCE


def table_energy(
    energy_paths: Sequence[str | Path],
    keras_paths: Sequence[str | Path],
    tflite_paths: Sequence[str | Path],
    models: dict[str, Any],
) -> pd.DataFrame:
    """qtools energy per model, variant and dtype, with the matching model's accuracy."""
    accuracy = {}
    for path in keras_paths:
        record = records.keras_eval(path)
        accuracy[("keras", record["model"], record["variant"], "fp32")] = record["accuracy_pct"]
    for path in tflite_paths:
        record = records.tflite_eval(path)
        accuracy[("tflite", record["model"], record["variant"], record["dtype"])] = record[
            "accuracy_pct"
        ]
    loaded = [(path, records.energy(path)) for path in energy_paths]
    fp32 = {(r["model"], r["variant"]): r["energy_uj"] for _, r in loaded if r["dtype"] == "fp32"}
    rows = []
    for path, record in loaded:
        model, variant, dtype = record["model"], record["variant"], record["dtype"]
        if dtype not in ENERGY_ACCURACY_SOURCE:
            raise records.RecordError(
                f"{path}: energy dtype {dtype!r} has no accuracy source; "
                f"known: {sorted(ENERGY_ACCURACY_SOURCE)}"
            )
        kind, acc_dtype = ENERGY_ACCURACY_SOURCE[dtype]
        acc_key = (kind, model, variant, acc_dtype)
        if acc_key not in accuracy:
            raise ValueError(
                f"table_energy: no {kind} evaluation of {model}/{variant}-{acc_dtype} among the "
                f"inputs for the accuracy of {path}"
            )
        label = paper_name(models, model)
        ref = paper.ENERGY_UJ.get(label, {}).get(dtype) if label and variant == "baseline" else None
        base = fp32.get((model, variant))
        rows.append(
            {
                "model": model,
                "paper_model": label,
                "variant": variant,
                "dtype": dtype,
                "accumulator": record["accumulator"],
                "energy_uj": record["energy_uj"],
                "sparsity_aware_energy_uj": record["sparsity_aware_energy_uj"],
                "saving_vs_fp32_x": base / record["energy_uj"]
                if base and record["energy_uj"]
                else None,
                "bit_operations": record["bit_operations"],
                "weight_memory_bits": record["weight_memory_bits"],
                "weight_bits": record["weight_bits"],
                "activation_bits": record["activation_bits"],
                "accuracy_pct": accuracy[acc_key],
                "accuracy_source": f"{kind}-{acc_dtype}",
                "paper_energy_uj": ref,
            }
        )
    return frame("table_energy", rows)


def table_energy_layers(energy_paths: Sequence[str | Path]) -> pd.DataFrame:
    """qtools per-layer energy terms of every model, variant and dtype."""
    rows = []
    for path in energy_paths:
        record = records.energy(path)
        for layer in record["layers"]:
            rows.append(
                {
                    "model": record["model"],
                    "variant": record["variant"],
                    "dtype": record["dtype"],
                    "layer": layer["layer"],
                    "layer_type": layer["type"],
                    "inputs_pj": layer["inputs_pj"],
                    "outputs_pj": layer["outputs_pj"],
                    "parameters_pj": layer["parameters_pj"],
                    "mac_pj": layer["mac_pj"],
                    "counted_terms": "+".join(layer["counted"]),
                    "total_pj": layer["total_pj"],
                    "density": layer["density"],
                    "sparsity_aware_pj": layer["sparsity_aware_pj"],
                }
            )
    return frame("table_energy_layers", rows)
