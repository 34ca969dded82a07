"""The variant, dtype and backend vocabulary, parsed in one place.

A variant is `baseline` or `<method>-<sparsity>`; wildcard constraints, the prune stage, the
config check and the tables all read names through this module, so a new kind of variant joins
the workflow by one entry in `METHODS` (plus the code that builds it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Method:
    """One way of making a variant from a baseline."""

    description: str
    fixed_sparsity: int | None = None  # e.g. 2:4 sparsity is always 50 %


METHODS: dict[str, Method] = {
    "magnitude": Method("tfmot unstructured low-magnitude pruning (the paper's method)"),
    "m_by_n": Method("tfmot 2:4 sparsity", fixed_sparsity=50),
    "filters": Method("structured L1-norm filter/unit removal (a smaller dense model)"),
}
BASELINE = "baseline"
TFLITE_DTYPES = ("fp32", "fp16", "dynamic", "int8")
DEPLOY_DTYPES = ("fp32", "fp16", "int8")  # ONNX files: fp32, fp16 and QDQ int8
BACKENDS = ("onnxruntime", "litert", "tensorrt")
# Which evaluation gives the accuracy shown beside each qtools energy dtype: fp32 is the Keras
# model itself, fp16 the float16 TFLite model, int8 the full-integer TFLite model (qtools' int8
# estimate quantises weights and activations, as full-integer TFLite does).
ENERGY_ACCURACY_SOURCE = {
    "fp32": ("keras", "fp32"),
    "fp16": ("tflite", "fp16"),
    "int8": ("tflite", "int8"),
}

_PRUNED = rf"({'|'.join(METHODS)})-(\d+)"
# Wildcard constraints: any pruned variant, or any variant.
PRUNED_PATTERN = rf"(?:{'|'.join(METHODS)})-\d+"
VARIANT_PATTERN = rf"{BASELINE}|{PRUNED_PATTERN}"


def alternatives(names: tuple[str, ...] | list[str]) -> str:
    """A regular expression matching exactly one of `names` (a wildcard constraint)."""
    return "|".join(map(re.escape, names))


@dataclass(frozen=True)
class Variant:
    """A parsed variant name: method ('none' for the baseline) and target sparsity in percent."""

    method: str
    sparsity: int

    @property
    def name(self) -> str:
        return BASELINE if self.method == "none" else f"{self.method}-{self.sparsity}"

    @property
    def fraction(self) -> float:
        return self.sparsity / 100.0

    @property
    def is_pruned(self) -> bool:
        return self.method != "none"


def parse(name: str) -> Variant:
    """'magnitude-50' -> Variant('magnitude', 50), 'baseline' -> Variant('none', 0).

    Raises ValueError naming the expected form for anything the workflow cannot build.
    """
    if name == BASELINE:
        return Variant("none", 0)
    match = re.fullmatch(_PRUNED, name)
    if not match:
        raise ValueError(
            f"variant {name!r} is neither {BASELINE!r} nor '<method>-<sparsity>' with method in "
            f"{tuple(METHODS)} (e.g. magnitude-50, filters-25, m_by_n-50)"
        )
    variant = Variant(match.group(1), int(match.group(2)))
    if not 1 <= variant.sparsity <= 99:
        raise ValueError(f"variant {name!r}: sparsity must be 1..99 percent (prune.sparsities)")
    fixed = METHODS[variant.method].fixed_sparsity
    if fixed is not None and variant.sparsity != fixed:
        raise ValueError(
            f"variant {name!r}: {variant.method} is always {fixed} %; use {variant.method}-{fixed}"
        )
    return variant


def parse_pruned(name: str) -> Variant:
    """Like `parse`, but refuses the baseline: the prune stage builds pruned variants only."""
    variant = parse(name)
    if not variant.is_pruned:
        raise ValueError(
            f"{name!r} is not a pruned variant; the prune stage builds '<method>-<sparsity>'"
        )
    return variant


def pruned_variants(prune: dict[str, Any]) -> list[str]:
    """Variant names the prune stage builds: every method at every sparsity, or its fixed one."""
    names: list[str] = []
    for method in prune["methods"]:
        fixed = METHODS[method].fixed_sparsity
        sparsities = [fixed] if fixed is not None else prune["sparsities"]
        names.extend(f"{method}-{s}" for s in sparsities)
    return names


def all_variants(config: dict[str, Any]) -> list[str]:
    """Every variant of every model: the baseline, then the pruned variants."""
    return [BASELINE, *pruned_variants(config["prune"])]
