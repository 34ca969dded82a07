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
from dataclasses import dataclass, replace
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
# Wildcard constraints: any pruned variant, the float models (what PTQ, export and qtools' uniform
# estimate take), the quantisation-aware variants (the qat stage), or any variant.
PRUNED_PATTERN = rf"(?:{'|'.join(METHODS)})-\d+"
CONTROL_PATTERN = rf"{CONTROL}-(?:{'|'.join(METHODS)})"
FLOAT_PATTERN = rf"{BASELINE}|{CONTROL_PATTERN}|{PRUNED_PATTERN}"
# tfmot QAT of the baseline and prune-preserving QAT of a magnitude variant: int8 .tflite files.
QAT = "qat"
TFMOT_QAT_PATTERN = rf"{QAT}|pqat-magnitude-\d+"
QKERAS_PATTERN = r"qkeras-w\d+a\d+"  # QKeras W-bit weights, A-bit activations: a .keras file
QAT_PATTERN = rf"{TFMOT_QAT_PATTERN}|{QKERAS_PATTERN}"
VARIANT_PATTERN = rf"{FLOAT_PATTERN}|{QAT_PATTERN}"
# Weight and activation bits of a QKeras variant: below 2, quantized_bits degenerates to sign(x)
# and quantized_relu(1) to a step (qtools prices those as other multipliers); above 8 the
# uniform int8/fp16/fp32 estimates apply.
QKERAS_BITS = range(2, 9)
# Keras layers each kind of quantisation-aware training handles (tfmot's default 8-bit scheme
# and its prune-preserving one; the QKeras rebuild, `amrcomp.models.lowbit`): the config check
# compares them with each architecture's static LAYER_TYPES, without TensorFlow.
_WEIGHTLESS = {"InputLayer", "Dropout", "Flatten", "MaxPooling2D"}
QAT_LAYERS = {
    "tfmot": frozenset({*_WEIGHTLESS, "Conv2D", "Dense", "AveragePooling2D", "Reshape"}),
    "qkeras": frozenset({*_WEIGHTLESS, "Conv2D", "Dense"}),
}


def alternatives(names: tuple[str, ...] | list[str]) -> str:
    """A regular expression matching exactly one of `names` (a wildcard constraint)."""
    return "|".join(map(re.escape, names))


def file_dtype(dtype: str) -> str:
    """The dtype of the file a deployment dtype runs from: itself, or fp32 for bf16."""
    return RUN_FROM_FILE.get(dtype, dtype)


@dataclass(frozen=True)
class Variant:
    """A parsed variant name: method ('none' for the baseline; for a control, the method whose
    recipe it follows) and target sparsity in percent; `control` marks the dense fine-tune;
    `training` a quantisation-aware fine-tune ('qat', 'pqat', 'qkeras': the qat stage) of the
    float variant `parent`, `bits` a QKeras variant's (weight, activation) bits."""

    method: str
    sparsity: int
    control: bool = False
    training: str = "float"
    bits: tuple[int, int] | None = None

    @property
    def name(self) -> str:
        if self.training == "qkeras":
            return f"qkeras-w{self.bits[0]}a{self.bits[1]}"
        if self.training != "float":
            return QAT if self.method == "none" else f"pqat-{self.method}-{self.sparsity}"
        if self.control:
            return f"{CONTROL}-{self.method}"
        return BASELINE if self.method == "none" else f"{self.method}-{self.sparsity}"

    @property
    def parent(self) -> str:
        """The float variant a quantisation-aware one is fine-tuned from (itself otherwise)."""
        return replace(self, training="float", bits=None).name

    @property
    def is_qat(self) -> bool:
        return self.training != "float"

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
        return (self.is_pruned or self.control) and not self.is_qat


def parse(name: str) -> Variant:
    """'magnitude-50' -> Variant('magnitude', 50), 'baseline' -> Variant('none', 0),
    'control-filters' -> Variant('filters', 0, control=True).

    Raises ValueError naming the expected form for anything the workflow cannot build.
    """
    if name == BASELINE:
        return Variant("none", 0)
    if name == QAT:
        return Variant("none", 0, training="qat")
    if name.startswith("pqat-"):
        parent = parse(name.removeprefix("pqat-"))
        if parent.method != "magnitude" or parent.control:
            raise ValueError(
                f"variant {name!r}: pqat- takes a magnitude variant (pqat-magnitude-50)"
            )
        return replace(parent, training="pqat")
    if re.fullmatch(QKERAS_PATTERN, name):
        bits = tuple(int(b) for b in re.findall(r"\d+", name))
        if not all(b in QKERAS_BITS for b in bits):
            raise ValueError(
                f"variant {name!r}: weight and activation bits must be "
                f"{QKERAS_BITS[0]}..{QKERAS_BITS[-1]} (e.g. qkeras-w4a4)"
            )
        return Variant("none", 0, training="qkeras", bits=bits)
    if re.fullmatch(CONTROL_PATTERN, name):
        return Variant(name.removeprefix(f"{CONTROL}-"), 0, control=True)
    match = re.fullmatch(_PRUNED, name)
    if not match:
        raise ValueError(
            f"variant {name!r} is neither {BASELINE!r}, '{CONTROL}-<method>', "
            f"'<method>-<sparsity>' with method in {tuple(METHODS)} (e.g. magnitude-50, "
            f"filters-25, control-filters) nor {QAT!r}, 'pqat-magnitude-<sparsity>' or "
            "'qkeras-w<bits>a<bits>'"
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
    .history.csv beside them); a quantisation-aware variant's is its name (qkeras-w4a4.keras,
    qat.json)."""
    parsed = parse(variant)
    return f"pruned-{parsed.name}" if parsed.is_pruned and not parsed.is_qat else parsed.name


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
