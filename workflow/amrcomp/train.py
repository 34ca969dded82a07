"""Training stage (Table II): one baseline built from its architecture and trained on the split.

The loop itself (Adam, best weights kept, plateaus, early stopping, input scale) is
`amrcomp.fitting`, shared with the pruning fine-tunes.
"""

from __future__ import annotations

import logging
from typing import Any

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
):
    """Build the model a config entry names and train it; return (model, fit result)."""
    if settings["train"]["fail"]:
        raise RuntimeError(f"models.{name}.train.fail is set: failing on purpose (a testing aid)")
    n_classes = len(manifest["classes"])
    shape = (*manifest["frame_shape"], 1)
    model = build_model(settings["arch"], n_classes, shape, **settings["arch_params"])
    return model, fit(model, train, val, n_classes, settings["train"], log)
