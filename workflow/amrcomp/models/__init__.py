"""Architecture registry: every module of this package but `cost`, `io` and `lowbit` is an
architecture, named by its file and providing `build(input_shape, n_classes, **params)` and
`LAYER_TYPES`, the Keras layer classes it builds (read without TensorFlow by the config check).

Adding a model is one module here plus a config entry (`models.<name>.arch: <module name>`); the
rules depend on the module file (`module_path`), so editing one architecture re-runs only the
models that use it. Listing the modules imports none of them, so checking a config never
imports TensorFlow.
"""

from __future__ import annotations

import importlib
from pathlib import Path

_HERE = Path(__file__).parent
_NOT_ARCHITECTURES = {"__init__", "cost", "io", "lowbit"}
ARCHITECTURES: dict[str, str] = {
    path.stem: f"amrcomp.models.{path.stem}"
    for path in sorted(_HERE.glob("*.py"))
    if path.stem not in _NOT_ARCHITECTURES
}
INPUT_SHAPE = (2, 128, 1)


def _known(arch: str) -> str:
    if arch not in ARCHITECTURES:
        raise ValueError(
            f"unknown architecture {arch!r}; known: {sorted(ARCHITECTURES)} "
            "(add a module with a build() to workflow/amrcomp/models/)"
        )
    return ARCHITECTURES[arch]


def module_path(arch: str) -> str:
    """Source file of an architecture; a rule input, so code changes re-run that model only."""
    _known(arch)
    return str(_HERE / f"{arch}.py")


def build_model(
    arch: str, n_classes: int = 11, input_shape: tuple[int, ...] = INPUT_SHAPE, **params
):
    """Build an uncompiled tf_keras model of the named architecture."""
    module = importlib.import_module(_known(arch))
    return module.build(input_shape=tuple(input_shape), n_classes=n_classes, **params)


def layer_types(arch: str) -> frozenset[str]:
    """The layer classes an architecture builds, from its static list (imports no TensorFlow)."""
    module = importlib.import_module(_known(arch))
    if not hasattr(module, "LAYER_TYPES"):
        raise ValueError(
            f"architecture {arch!r} has no LAYER_TYPES: add the Keras layer classes its build() "
            f"makes to {module.__file__} (the quantisation-aware variants check them)"
        )
    return frozenset(module.LAYER_TYPES)
