"""Quantisation-aware variants (the qat stage): one fine-tune of a float model with its
quantisers in the loop, by the recipe of the dense control it is compared with.

- qat:               tfmot's default 8-bit QAT of the baseline -> full-integer .tflite;
- pqat-magnitude-<s>: tfmot's prune-preserving QAT of magnitude-<s>, so its zeros survive;
- qkeras-w<W>a<A>:   the QKeras rebuild (`amrcomp.models.lowbit`) at W/A bits -> .keras.

The float models carry their input scale folded into the first kernel, so they take the raw
(L1-normalised, small-amplitude) frames. The fine-tune feeds exactly those, nothing unfolded:
the input quantiser then learns the range the deployed file is fed (tfmot's min/max of every
frame seen; QKeras' power-of-two input scale from the calibration frames). Both run in fp32:
tfmot's wrappers are float32 layers whatever the policy (`QAT_BF16`), and QKeras' quantizers
compute in the layer's dtype, which bf16 would round before quantising.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from amrcomp import mixed
from amrcomp.frames import Split
from amrcomp.variants import QAT_LAYERS, Variant

SCHEMES = ("qat", "pqat")
QAT_BF16 = (
    "tfmot's QuantizeWrapperV2 is a float32 layer whatever the policy, and QKeras' quantizers "
    "would round bf16 inputs before quantising: quantisation-aware fine-tunes run in fp32"
)


def quantize_aware(model, scheme: str):
    """A QAT copy of `model` (plain tf_keras, float32) for `scheme`, uncompiled.

    "qat": tfmot's default 8-bit scheme; "pqat": the same with the prune-preserving weight
    quantiser, which keeps a magnitude-pruned model's zeros at zero through the fine-tune.
    Feed it the raw frames the saved model takes (fit settings with input_scale None, nothing
    unfolded): the input quantiser's range must be the deployed input's. The folded first kernel
    is then 1/std times larger than trained, so Adam's steps barely move it. `model` must be
    trained: tfmot starts every activation range at [-6, 6] (moving averages, decay 0.999), so
    an untrained net's tiny activations quantise to zero and nothing learns. Fine-tune in fp32
    (`QAT_BF16`); `amrcomp.fitting.fit` compiles and trains it like any model.
    """
    import tensorflow_model_optimization as tfmot

    from amrcomp.mixed import recast

    if scheme not in SCHEMES:
        raise ValueError(f"unknown QAT scheme {scheme!r}; expected one of {SCHEMES}")
    unknown = sorted({type(layer).__name__ for layer in model.layers} - QAT_LAYERS["tfmot"])
    if unknown:
        raise ValueError(f"{model.name}: tfmot's 8-bit scheme cannot quantise layers {unknown}")
    copy = recast(model, "fp32")  # new layers, float32, the caller's model stays untouched
    quantization = tfmot.quantization.keras
    if scheme == "qat":
        return quantization.quantize_model(copy)
    preserve = tfmot.experimental.combine.Default8BitPrunePreserveQuantizeScheme()
    return quantization.quantize_apply(quantization.quantize_annotate_model(copy), preserve)


def finetune_variant(
    model,
    variant: Variant,
    train: Split,
    val: Split,
    n_classes: int,
    finetune: dict[str, Any],
    log: logging.Logger,
    calibration: np.ndarray,
    precision: str = "fp32",
) -> tuple[Any, dict[str, Any]]:
    """Wrap or rebuild `model` (the variant's parent, loaded) and fine-tune it on raw frames;
    return (the fine-tuned model, report). `finetune` is `amrcomp.prune.finetune_settings`-shaped
    (the control's recipe: same frames, steps, learning rate, distillation); `calibration`
    (training frames) sets the QKeras input and activation ranges; `precision` is the model's
    train.precision setting, recorded as resolved here and then fp32 (`QAT_BF16`).
    """
    from amrcomp.fitting import fit

    distillation = None
    if finetune.get("distill"):
        from amrcomp.distill import teach

        distillation = teach(model, finetune["distill"], train, val)
    if variant.training == "qkeras":
        from amrcomp.models.lowbit import quantized_clone

        net = quantized_clone(model, *variant.bits, calibration)
    else:
        net = quantize_aware(model, "qat" if variant.training == "qat" else "pqat")
    used = mixed.fall_back(mixed.resolve_here(precision), QAT_BF16)
    log.info("%s: fine-tune precision %s (%s)", variant.name, used["used"], used["reason"])
    settings = {**finetune, "input_scale": None}  # raw frames: what the deployed file takes
    result = fit(
        net, train, val, n_classes, settings, log, tag=f"qat {variant.name}", fold=False,
        distillation=distillation,
    )  # fmt: skip
    report = {
        "variant": variant.name,
        "parent": variant.parent,
        "training": variant.training,
        "bits": list(variant.bits) if variant.bits else [8, 8],
        "settings": {"finetune": finetune, "input_scale": "none: raw frames, as deployed"},
        "distillation": distillation.record() if distillation else {"enabled": False},
        "finetune": result["used"],
        "history": result["history"],
        "precision": used,
    }
    return net, report
