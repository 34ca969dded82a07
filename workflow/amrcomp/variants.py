"""The variant, dtype and backend vocabulary, parsed in one place.

A variant is `baseline`, `control` or `<method>-<sparsity>`; wildcard constraints, the prune
stage, the config check and the tables all read names through this module, so a new kind of
variant joins the workflow by one entry in `METHODS` (plus the code that builds it).

`control-<method>` is the baseline fine-tuned with exactly that method's recipe and no pruning:
a pruned variant's drop against it measures pruning, not the extra training a fine-tune gives a
baseline that stopped while still improving. Methods with the same recipe share one control,
named after the first of them (`amrcomp.settings.controls`).
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
    # Fine-tuned inside tfmot's wrappers, which mishandle bf16: such fine-tunes (and their
    # control) run in fp32 (amrcomp.prune.unstructured.TFMOT_BF16).
    tfmot: bool = False


METHODS: dict[str, Method] = {
    "magnitude": Method(
        "tfmot unstructured low-magnitude pruning (the paper's method)", tfmot=True
    ),
    "m_by_n": Method("tfmot 2:4 sparsity", fixed_sparsity=50, tfmot=True),
    "filters": Method("structured L1-norm filter/unit removal (a smaller dense model)"),
}
BASELINE = "baseline"
CONTROL = "control"
TFLITE_DTYPES = ("fp32", "fp16", "dynamic", "int8")
ONNX_DTYPES = ("fp32", "fp16", "int8")  # ONNX files: fp32, fp16 and QDQ int8
# bf16 is a precision, not a file: the fp32 file of each backend, run in bfloat16 where the
# runtime and CPU offer it (amrcomp.bench.offers); no bf16 ONNX, TFLite or TensorRT plan exists.
DEPLOY_DTYPES = (*ONNX_DTYPES, "bf16")
RUN_FROM_FILE = {"bf16": "fp32"}
BACKENDS = ("onnxruntime", "litert", "openvino", "tensorrt")
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
CONTROL_PATTERN = rf"{CONTROL}-(?:{'|'.join(METHODS)})"
VARIANT_PATTERN = rf"{BASELINE}|{CONTROL_PATTERN}|{PRUNED_PATTERN}"


def alternatives(names: tuple[str, ...] | list[str]) -> str:
    """A regular expression matching exactly one of `names` (a wildcard constraint)."""
    return "|".join(map(re.escape, names))


def file_dtype(dtype: str) -> str:
    """The dtype of the file a deployment dtype runs from: itself, or fp32 for bf16."""
    return RUN_FROM_FILE.get(dtype, dtype)


@dataclass(frozen=True)
class Variant:
    """A parsed variant name: method ('none' for the baseline; for a control, the method whose
    recipe it follows) and target sparsity in percent; `control` marks the dense fine-tune."""

    method: str
    sparsity: int
    control: bool = False

    @property
    def name(self) -> str:
        if self.control:
            return f"{CONTROL}-{self.method}"
        return BASELINE if self.method == "none" else f"{self.method}-{self.sparsity}"

    @property
    def fraction(self) -> float:
        return self.sparsity / 100.0

    @property
    def pruning_method(self) -> str:
        """What removed weights: 'none' for the baseline and the controls (Tables III/V)."""
        return self.method if self.is_pruned else "none"

    @property
    def is_pruned(self) -> bool:
        return self.method != "none" and not self.control

    @property
    def is_finetuned(self) -> bool:
        """Built by the prune stage from the baseline: every pruned variant and the control."""
        return self.is_pruned or self.control


def parse(name: str) -> Variant:
    """'magnitude-50' -> Variant('magnitude', 50), 'baseline' -> Variant('none', 0),
    'control-filters' -> Variant('filters', 0, control=True).

    Raises ValueError naming the expected form for anything the workflow cannot build.
    """
    if name == BASELINE:
        return Variant("none", 0)
    if re.fullmatch(CONTROL_PATTERN, name):
        return Variant(name.removeprefix(f"{CONTROL}-"), 0, control=True)
    match = re.fullmatch(_PRUNED, name)
    if not match:
        raise ValueError(
            f"variant {name!r} is neither {BASELINE!r}, '{CONTROL}-<method>' nor "
            f"'<method>-<sparsity>' with method in {tuple(METHODS)} (e.g. magnitude-50, "
            "filters-25, control-filters)"
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


def parse_finetuned(name: str) -> Variant:
    """Like `parse`, but refuses the baseline: the prune stage builds the pruned variants and the
    control, all fine-tuned from the baseline with one recipe."""
    variant = parse(name)
    if not variant.is_finetuned:
        raise ValueError(
            f"{name!r} is not built by the prune stage: it builds '{CONTROL}-<method>' and "
            "'<method>-<sparsity>'"
        )
    return variant


def model_stem(variant: str) -> str:
    """File stem of a variant under results/models/{model}/: baseline.keras,
    control-<method>.keras or pruned-<variant>.keras (and the fine-tunes' .json summary and
    .history.csv beside them)."""
    parsed = parse(variant)
    return parsed.name if not parsed.is_pruned else f"pruned-{parsed.name}"


def pruned_variants(prune: dict[str, Any], model_levels: dict[str, list[int]] | None = None):
    """Pruned variant names: every method at its sparsities (a model's own `model_levels`, else
    `prune.method_sparsities`, else `prune.sparsities`), or at its fixed one."""
    levels = {**prune.get("method_sparsities", {}), **(model_levels or {})}
    names: list[str] = []
    for method in prune["methods"]:
        fixed = METHODS[method].fixed_sparsity
        own = levels.get(method, prune["sparsities"])
        sparsities = [fixed] if fixed is not None else own
        names.extend(f"{method}-{s}" for s in sparsities)
    return names
