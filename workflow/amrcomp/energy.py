"""Inference energy from QKeras qtools (Horowitz 45 nm tables), as the paper estimated it.

The paper's figures come from qtools run on the plain Keras model with a uniform data type
(keras_quantizer) and accumulator (keras_accumulator) for every layer and the input. qtools
counts operations from shapes only, so pruning never lowers its number; the sparsity-aware
figure is this project's documented extension: the same per-layer terms with the MAC and
parameter-read terms scaled by each layer's measured nonzero-kernel density.
"""

from __future__ import annotations

from typing import Any

from amrcomp import tfsetup  # noqa: F401 - sets TF_USE_LEGACY_KERAS before qkeras imports TensorFlow
from amrcomp.models.cost import bit_operations, layer_costs

# Bits of weights and activations per data type, for the ITU-ML5G-PS-007 bit-operation cost.
BITS = {"fp32": 32, "fp16": 16, "int8": 8}
# qtools energy terms per layer; "op_cost" is the MAC cost of Conv2D/Dense layers.
TERMS = ("inputs", "outputs", "parameters", "op_cost")
SCALED_TERMS = ("parameters", "op_cost")


def stripped(model):
    """The model without tfmot pruning wrappers
    (qtools counts wrapped layers as zero operations)."""
    if not any(type(layer).__name__ == "PruneLowMagnitude" for layer in model.layers):
        return model
    import tensorflow_model_optimization as tfmot

    return tfmot.sparsity.keras.strip_pruning(model)


def qtools_energy(
    model,
    quantizer: str,
    accumulator: str,
    process: str = "horowitz",
    weights_on_memory: str = "sram",
    activations_on_memory: str = "dram",
    min_sram_size: int = 8 * 16 * 1024 * 1024,
    rd_wr_on_io: bool = False,
) -> tuple[int, dict[str, Any], dict[str, list[str]]]:
    """Run qtools exactly as the paper did; return (summed pJ, per-layer energy dict,
    counted terms per class)."""
    memory = {
        "weights_on_memory": weights_on_memory,
        "activations_on_memory": activations_on_memory,
        "min_sram_size": min_sram_size,
        "rd_wr_on_io": rd_wr_on_io,
    }
    return run_qtools(
        model,
        memory,
        process=process,
        source_quantizers=quantizer,
        weights_path=None,
        keras_quantizer=quantizer,
        keras_accumulator=accumulator,
        for_reference=True,
    )


def run_qtools(model, memory: dict[str, Any], **tools: Any) -> tuple[int, dict, dict]:
    """qtools' QTools over `model` (`tools`: its process and quantizer arguments), priced with
    the `memory` model (`QTools.pe`'s arguments): (summed pJ, per-layer energy, terms counted
    per layer class)."""
    from qkeras.qtools import run_qtools as qtools
    from qkeras.qtools import settings as qtools_settings

    q = qtools.QTools(model, is_inference=True, **tools)
    energy = q.pe(**memory)
    include = dict(qtools_settings.cfg.include_energy)
    return int(q.extract_energy_sum(include, energy)), energy, include


def layer_densities(model) -> dict[str, float]:
    """Nonzero fraction of each layer's kernel, measured from the weights
    (1.0 for layers without one)."""
    return {row["layer"]: 1.0 - float(row["kernel_sparsity"]) for row in layer_costs(model)}


def layer_profile(
    energy: dict[str, Any], include: dict[str, list[str]], densities: dict[str, float]
) -> list[dict[str, Any]]:
    """Per-layer qtools terms, the counted total, and the density-scaled (sparsity-aware) total."""
    rows = []
    for name, entry in energy.items():
        if name == "total_cost":
            continue
        terms = {t: float(entry["energy"].get(t, 0.0)) for t in TERMS}
        counted = include.get(entry["class_name"], include.get("default", []))
        density = densities.get(name, 1.0)
        rows.append(
            {
                "layer": name,
                "type": entry["class_name"],
                "inputs_pj": terms["inputs"],
                "outputs_pj": terms["outputs"],
                "parameters_pj": terms["parameters"],
                "mac_pj": terms["op_cost"],
                "counted": list(counted),
                "total_pj": sum(terms[t] for t in counted),
                "density": density,
                "sparsity_aware_pj": sum(
                    terms[t] * (density if t in SCALED_TERMS else 1.0) for t in counted
                ),
            }
        )
    return rows


def estimate(model, settings: dict[str, Any]) -> dict[str, Any]:
    """Energy record of one model at one data type (`settings`: one dtype of
    `amrcomp.settings.energy_settings`)."""
    model = stripped(model)
    dtype = settings["quantizer"]
    if dtype not in BITS:
        raise ValueError(f"unknown energy dtype {dtype!r}; expected one of {sorted(BITS)}")
    qtools_args = {k: v for k, v in settings.items() if k != "quantizer"}
    total_pj, energy, include = qtools_energy(model, dtype, **qtools_args)
    layers = layer_profile(energy, include, layer_densities(model))
    sparse_pj = float(sum(r["sparsity_aware_pj"] for r in layers))
    bits = BITS[dtype]
    bops = bit_operations(layer_costs(model), activation_bits=bits, weight_bits=bits)
    return {
        "quantizer": dtype,
        "accumulator": settings["accumulator"],
        "process": settings["process"],
        "energy_pj": total_pj,
        "energy_uj": total_pj / 1e6,
        "sparsity_aware_energy_pj": sparse_pj,
        "sparsity_aware_energy_uj": sparse_pj / 1e6,
        "bit_operations": bops["bit_operations"],
        "weight_memory_bits": bops["weight_memory_bits"],
        "weight_bits": bits,
        "activation_bits": bits,
        "layers": layers,
    }


def lowbit_energy(
    qmodel,
    process: str = "horowitz",
    weights_on_memory: str = "sram",
    activations_on_memory: str = "dram",
    min_sram_size: int = 8 * 16 * 1024 * 1024,
    rd_wr_on_io: bool = False,
) -> dict[str, Any]:
    """qtools energy at the model's own widths (for_reference=False, the input quantizer as
    source), the per-layer profile as `layer_profile`'s, ITU bit operations at each
    layer's input and weight bits, and the size in bytes; memory settings as `qtools_energy`."""
    from amrcomp.models.lowbit import input_quantizer, layer_bits

    source = input_quantizer(qmodel)
    memory = {
        "weights_on_memory": weights_on_memory,
        "activations_on_memory": activations_on_memory,
        "min_sram_size": min_sram_size,
        "rd_wr_on_io": rd_wr_on_io,
    }
    # every layer's own quantizers (for_reference=False), not one keras_quantizer
    total_pj, energy, include = run_qtools(
        qmodel, memory, process=process, source_quantizers=[source], for_reference=False
    )
    rows = layer_bits(qmodel)
    for row in rows:
        cost = bit_operations([row], row["activation_bits"], row["weight_bits"])
        row.update({k: float(v) for k, v in cost.items()})
        bits = row["kernel_params"] * row["weight_bits"] + row["bias_params"] * row["bias_bits"]
        row["size_bytes"] = bits / 8
    layers = layer_profile(energy, include, {r["layer"]: 1.0 - r["kernel_sparsity"] for r in rows})
    sparse_pj = float(sum(r["sparsity_aware_pj"] for r in layers))
    return {
        "weight_bits": max(r["weight_bits"] for r in rows),
        "activation_bits": max(r["activation_bits"] for r in rows[1:] or rows),
        "input_bits": int(source.bits),
        "process": process,
        "energy_pj": total_pj,
        "energy_uj": total_pj / 1e6,
        "sparsity_aware_energy_pj": sparse_pj,
        "sparsity_aware_energy_uj": sparse_pj / 1e6,
        "bit_operations": sum(r["bit_operations"] for r in rows),
        "weight_memory_bits": sum(r["weight_memory_bits"] for r in rows),
        "size_bytes": sum(r["size_bytes"] for r in rows),
        "layers": layers,
        "bits": rows,
    }
