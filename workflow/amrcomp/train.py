"""Training stage (Table II): one baseline built from its architecture and trained on the split.

The loop itself (Adam, best weights kept, plateaus, early stopping, input scale) is
`amrcomp.fitting`, shared with the pruning fine-tunes. The compute precision (`train.precision`)
is resolved here, on the host that trains (`amrcomp.mixed`). With a checkpoint directory a killed
training resumes from its last finished epoch (`amrcomp.checkpoint`); the checkpoint's
fingerprint holds the precision used, so a rerun on a host of the other precision starts fresh.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from amrcomp import mixed
from amrcomp.fitting import fit
from amrcomp.frames import Split
from amrcomp.models import build_model


def train_baseline(
    name: str,
    settings: dict[str, Any],
    manifest: dict[str, Any],
    train: Split,
    val: Split,
    log: logging.Logger,
    checkpoint_dir: str | os.PathLike | None = None,
):
    """Build the model a config entry names and train it in the precision the host supports,
    checkpointing every epoch to `checkpoint_dir` when given; return (plain float32 model, fit
    result with the precision record in `used`)."""
    if settings["train"]["fail"]:
        raise RuntimeError(f"models.{name}.train.fail is set: failing on purpose (a testing aid)")
    n_classes = len(manifest["classes"])
    shape = (*manifest["frame_shape"], 1)
    model = build_model(settings["arch"], n_classes, shape, **settings["arch_params"])
    precision = mixed.resolve_here(settings["train"]["precision"])
    log.info("precision %s (%s)", precision["used"], precision["reason"])
    if precision["used"] == "bf16":
        model = mixed.recast(model, "bf16")
    result = fit(
        model, train, val, n_classes, settings["train"], log, checkpoint_dir=checkpoint_dir
    )
    result["used"]["precision"] = precision
    return mixed.recast(model, "fp32"), result
