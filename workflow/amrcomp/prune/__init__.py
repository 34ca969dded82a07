"""Pruning stage (Table III): one variant '{method}-{sparsity}' of one trained baseline, or its
dense control.

Three methods, all fine-tuned from the baseline and saved as plain tf_keras models (no custom
objects, loadable by every later stage):
- magnitude: tfmot unstructured low-magnitude pruning (the paper's method), `unstructured.py`;
- m_by_n:    tfmot 2:4 sparsity along the input dimension, `unstructured.py`;
- filters:   structured L1-norm filter/unit removal giving a genuinely smaller model, `filters.py`.
The control is the baseline through the same fine-tune (`prune_variant`, one code path, so the
recipes cannot drift) with nothing pruned: a variant's drop against it measures the pruning.
With `distill` on, every fine-tune learns from the baseline's probabilities (`amrcomp.distill`).
"""

from __future__ import annotations

import logging
import math
from typing import Any, Iterable

from amrcomp import mixed
from amrcomp.frames import Split
from amrcomp.variants import METHODS, Variant

M_BY_N = (2, 4)


def finetune_settings(
    finetune: dict[str, Any], seed: int, beta_1: float = 0.9, beta_2: float = 0.999
) -> dict[str, Any]:
    """Settings for `amrcomp.fitting.fit`: prune.finetune plus the baseline's seed and Adam betas.

    No learning-rate schedule or early stopping: the paper fine-tunes a fixed number of epochs.
    `distill` (prune.finetune.distill) is kept when it is switched on, else None.
    """
    from amrcomp.distill import enabled

    return {
        "epochs": int(finetune["epochs"]),
        "batch_size": int(finetune["batch_size"]),
        "learning_rate": float(finetune["learning_rate"]),
        "beta_1": float(beta_1),
        "beta_2": float(beta_2),
        "seed": int(seed),
        "input_scale": None,  # prune_variant passes the baseline's
        "reduce_lr": None,
        "early_stopping_patience": 0,
        "distill": dict(finetune["distill"]) if enabled(finetune.get("distill")) else None,
    }


def finetune_steps(used: dict[str, Any]) -> int:
    """Optimiser steps a fine-tune ran (`fit`'s `used`): one per batch, the last one partial."""
    per_epoch = math.ceil(int(used["train_frames"]) / int(used["batch_size"]))
    return int(used["epochs_run"]) * per_epoch


def schedule_label(method: str, schedule_mask_updates: int | None) -> str:
    """How the variant was pruned, as a reader would call it: a tfmot schedule that never fired
    leaves only the explicit masks, which is one-shot pruning whatever the schedule's name."""
    if method == "none":
        return "none (dense control)"
    if method == "filters":
        return "structured one-shot"
    if not schedule_mask_updates:
        return "one-shot"
    plural = "s" if schedule_mask_updates != 1 else ""
    return f"gradual ({schedule_mask_updates} update{plural})"


def finetune_precision(method: str, resolved: dict[str, str]) -> dict[str, str]:
    """The fine-tune's precision record: the host's (`mixed.resolve`), except fp32 for tfmot's
    wrappers (`variants.METHODS[...].tfmot`: magnitude, m_by_n), which mishandle bf16
    (`unstructured.TFMOT_BF16`); a control follows the method whose recipe it has."""
    if method in METHODS and METHODS[method].tfmot:
        from amrcomp.prune.unstructured import TFMOT_BF16

        return mixed.fall_back(resolved, TFMOT_BF16)
    return resolved


def fresh_copy(model):
    """An uncompiled copy with new layers: the saved file holds no optimizer state (which would
    triple a fine-tuned file's size) and no layer is shared with the baseline or the wrappers."""
    from amrcomp.tfsetup import keras

    copy = keras().models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def prune_variant(
    model,
    variant: Variant,
    train: Split,
    val: Split,
    n_classes: int,
    finetune: dict[str, Any],
    log: logging.Logger,
    skip_layers: Iterable[str] = (),
    frequency: int = 100,
    input_scale: float = 1.0,
    precision: str = "fp32",
):
    """Prune and fine-tune `model` (a loaded baseline); return (stripped model, report dict).
    The control is fine-tuned the same way and not pruned.

    With `finetune["distill"]` set, the baseline is the teacher: its probabilities on the
    fine-tune's frames are computed once, before anything changes it.

    `input_scale` is the factor the baseline was trained with (and folded into its first kernel):
    it is unfolded for the fine-tune, which then sees the same scaled frames and optimiser
    dynamics as training did, and folded back into the pruned model. `precision` (the model's
    train.precision setting) is resolved on this host; the saved model is float32 either way.

    The report holds method, target, per-layer rows (achieved sparsity or units kept, or why a
    layer was left alone), cost totals before/after, the fine-tune budget (epochs, steps, frames,
    learning rate, mask updates: what decides whether the pruning was one-shot or gradual), and
    the fine-tune history and settings.
    """
    from amrcomp.fitting import fit
    from amrcomp.models.cost import layer_costs, totals

    skip = set(skip_layers)
    unknown = skip - {layer.name for layer in model.layers}
    if unknown:
        raise ValueError(
            f"prune.skip_layers names layers {sorted(unknown)} that model {model.name!r} "
            f"does not have; its layers: {[layer.name for layer in model.layers]}"
        )
    before = totals(layer_costs(model))
    distillation = None
    if finetune.get("distill"):
        from amrcomp.distill import teach

        distillation = teach(model, finetune["distill"], train, val)
        log.info("distilling from the baseline: %s", distillation.record())

    if input_scale != 1.0:
        from amrcomp.fitting import fold_input_scale

        model = fresh_copy(model)
        fold_input_scale(model, 1.0 / input_scale)
    # `precision` is the model's train.precision, resolved here, on the host that fine-tunes.
    resolved = finetune_precision(variant.method, mixed.resolve_here(precision))
    log.info("fine-tune precision %s (%s)", resolved["used"], resolved["reason"])
    if resolved["used"] == "bf16":
        model = mixed.recast(model, "bf16")

    def tune(net, callbacks=()):
        scaled = {**finetune, "input_scale": input_scale}
        return fit(
            net,
            train,
            val,
            n_classes,
            scaled,
            log,
            tag=f"finetune {variant.name}",
            extra_callbacks=callbacks,
            fold=False,
            distillation=distillation,
        )

    if variant.control:
        pruned = fresh_copy(model)  # the baseline stays untouched, as for the pruned variants
        rows, result = [], tune(pruned)
        settings: dict[str, Any] = {"pruning": "none: the control of the pruned variants"}
        schedule = dict.fromkeys(
            ("frequency", "schedule_mask_updates", "explicit_mask_applications")
        )
    elif variant.method == "filters":
        from amrcomp.prune.filters import prune_filters

        pruned, rows, result = prune_filters(model, variant.fraction, skip, tune, log)
        settings = {
            "criterion": "L1 norm of each filter/unit",
            "output_layer_kept": True,
        }
        # Filters are removed once, before the fine-tune: no mask and no schedule.
        schedule = {
            "frequency": None,
            "schedule_mask_updates": None,
            "explicit_mask_applications": None,
        }
    else:
        from amrcomp.prune.unstructured import prune_unstructured, schedule_updates

        m_by_n = M_BY_N if variant.method == "m_by_n" else None
        pruned, rows, result, settings = prune_unstructured(
            model, variant.fraction, frequency, skip, m_by_n, tune, log
        )
        # Counted from the steps run, not read from the wrappers' step counter: the fine-tune
        # restores the best epoch's variables, that counter among them.
        steps = finetune_steps(result["used"])
        schedule = {
            "frequency": settings["frequency"],
            "schedule_mask_updates": schedule_updates(steps, settings["frequency"], m_by_n),
            "explicit_mask_applications": settings["explicit_mask_applications"],
        }
    pruned = mixed.recast(pruned, "fp32")  # uncompiled, float32 layers, none shared
    if input_scale != 1.0:
        from amrcomp.fitting import fold_input_scale

        fold_input_scale(pruned, input_scale)
    after = totals(layer_costs(pruned))
    used = result["used"]
    budget = {
        "epochs": used["epochs_run"],
        "steps": finetune_steps(used),
        "frames": used["train_frames"],
        "learning_rate": used["learning_rate"],
        **schedule,
        "pruning_schedule": schedule_label(
            variant.pruning_method, schedule["schedule_mask_updates"]
        ),
    }
    log.info("fine-tune budget: %s", budget)
    report = {
        "method": variant.pruning_method,
        "variant": variant.name,
        "target_sparsity": variant.fraction,
        "layers": rows,
        "pruned_layers": [r["layer"] for r in rows if r["pruned"]],
        "not_pruned": {r["layer"]: r["reason"] for r in rows if not r["pruned"]},
        "totals_before": before,
        "totals_after": after,
        "settings": {
            **settings,
            "skip_layers": sorted(skip),
            "finetune": finetune,
            "input_scale": input_scale,
        },
        "budget": budget,
        "distillation": distillation.record() if distillation else {"enabled": False},
        "finetune": used,
        "history": result["history"],
        "precision": resolved,
    }
    return pruned, report
