"""Reading and writing .keras model files: the one format every stage hands models on in."""

from __future__ import annotations

from amrcomp.atomic import atomic_path
from amrcomp.mixed import recast
from amrcomp.tfsetup import keras


def save_model(model, path) -> None:
    """Save a .keras file atomically (a killed job never leaves a loadable half-file)."""
    # An uncompiled copy: the file holds weights only, not Adam's state (3x the weights' size),
    # so baseline and pruned file sizes compare like for like; and a float32 one, since the file
    # stores each layer's policy and a bf16-trained layer would compute in bf16 in every reader.
    bare = recast(model, "fp32")
    with atomic_path(path, suffix=".keras") as tmp:
        bare.save(tmp)


def load_model(path, custom_objects: dict | None = None):
    """Load a .keras artifact, naming the file when it is corrupt."""
    try:
        return keras().models.load_model(path, compile=False, custom_objects=custom_objects)
    except Exception as err:  # noqa: BLE001 - any loader failure means a bad artifact
        raise ValueError(
            f"cannot load model {path} ({err}); delete it and re-run the rule that makes it"
        ) from err
