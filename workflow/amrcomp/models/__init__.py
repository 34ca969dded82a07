"""Architecture registry: config names -> modules with a `build(input_shape, n_classes, **params)`.

Adding a model is one module here plus a config entry; the rules depend on the module file
(`module_path`) so editing one architecture re-runs only the models that use it.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

ARCHITECTURES: dict[str, str] = {
    "oshea_cnn2": "amrcomp.models.oshea",
    "tekbiyik": "amrcomp.models.tekbiyik",
}

INPUT_SHAPE = (2, 128, 1)


def _module(arch: str) -> ModuleType:
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; known: {sorted(ARCHITECTURES)} (add a module to amrcomp/models/)")
    return importlib.import_module(ARCHITECTURES[arch])


def module_path(arch: str) -> str:
    """Source file of an architecture; a rule input, so code changes re-run that model only."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; known: {sorted(ARCHITECTURES)}")
    rel = ARCHITECTURES[arch].split(".", 1)[1].replace(".", "/") + ".py"
    return str(Path(__file__).parent.parent / rel)


def build_model(arch: str, n_classes: int = 11, input_shape: tuple[int, ...] = INPUT_SHAPE, **params):
    """Build an uncompiled tf_keras model of the named architecture."""
    return _module(arch).build(input_shape=tuple(input_shape), n_classes=n_classes, **params)
