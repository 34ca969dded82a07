"""Config checks the JSON schema cannot express, and loading outside Snakemake (tests, scripts).

Snakemake validates `config` against config/schema.yaml; `check_config` then checks what
depends on the code (known architectures, variant names, throughputs) so a bad
config fails at the start of a run with a message naming the key, not hours into it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

from amrcomp import variants
from amrcomp.models import ARCHITECTURES, layer_types

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


class ConfigError(ValueError):
    """A config value that passed the schema but cannot work."""


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict update, as Snakemake applies --configfile on top of the default."""
    merged = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


# A model's entries that shape its variants, not its baseline.
NOT_TRAINING = ("finetune", "method_finetune", "method_sparsities")


def model_settings(config: dict[str, Any], model: str) -> dict[str, Any]:
    """One model's config entry but what only its variants use (`NOT_TRAINING`): the train
    rule's param, so editing it re-runs that model only, and editing a fine-tune or a sparsity
    level keeps its baseline."""
    return {k: v for k, v in config["models"][model].items() if k not in NOT_TRAINING}


def model_finetune(config: dict[str, Any], model: str, method: str) -> dict[str, Any]:
    """How `model`'s `method` variants (and their control) are fine-tuned: the one place that
    decides a recipe. Layered (deep: one distillation key may change) from general to specific:
    prune.finetune, models.<model>.finetune, prune.method_finetune.<method>,
    models.<model>.method_finetune.<method>."""
    entry = config["models"][model]
    layers = [
        entry["finetune"],
        config["prune"]["method_finetune"].get(method, {}),
        entry["method_finetune"].get(method, {}),
    ]
    recipe = config["prune"]["finetune"]
    for layer in layers:
        recipe = deep_merge(recipe, layer)
    return recipe


def controls(config: dict[str, Any]) -> dict[str, str]:
    """Each pruning method's dense control: methods whose recipes agree on every model (and that
    run in the same precision: tfmot's wrappers fine-tune in fp32) share one, named after the
    first of them in prune.methods."""
    leads: dict[str, str] = {}
    found: dict[str, str] = {}
    for method in config["prune"]["methods"]:
        recipes = [model_finetune(config, model, method) for model in config["models"]]
        key = json.dumps([recipes, variants.METHODS[method].tfmot], sort_keys=True)
        leads[method] = found.setdefault(key, f"{variants.CONTROL}-{method}")
    return leads


def pruned_of(config: dict[str, Any], model: str | None = None) -> list[str]:
    """`model`'s pruned variants (its own `method_sparsities` first); with no model, those of
    every model, each once."""
    if model is None:
        return [*dict.fromkeys(v for m in config["models"] for v in pruned_of(config, m))]
    own = config["models"][model].get("method_sparsities", {})
    return variants.pruned_variants(config["prune"], own)


def finetuned_variants(config: dict[str, Any], model: str | None = None) -> list[str]:
    """What the prune stage builds of `model` (no model: of any): the controls, then the pruned
    variants (no control when nothing is pruned: it only serves to measure pruning)."""
    pruned = pruned_of(config, model)
    return [*dict.fromkeys(controls(config).values()), *pruned] if pruned else []


def all_variants(config: dict[str, Any], model: str | None = None) -> list[str]:
    """Every variant of `model` (no model: of any): the baseline, the controls, the pruned."""
    return [variants.BASELINE, *finetuned_variants(config, model)]


def control_of(config: dict[str, Any], variant: str) -> str | None:
    """The control a pruned variant's drop is measured against (None for baseline/controls)."""
    parsed = variants.parse(variant)
    return controls(config)[parsed.method] if parsed.is_pruned else None


def prune_settings(config: dict[str, Any], model: str, variant: str) -> dict[str, Any]:
    """What one pruned variant (or the control) depends on, and nothing more: adding a sparsity
    level leaves the params of existing variants unchanged, so only the new variant is built."""
    train = config["models"][model]["train"]
    parsed = variants.parse_finetuned(variant)
    scheduled = parsed.is_pruned and parsed.method != "filters"  # tfmot's pruning schedule
    return {
        # a control's name is its lead method's, so it follows that method's recipe
        "finetune": model_finetune(config, model, parsed.method),
        "frequency": config["prune"]["frequency"] if scheduled else None,
        # a map of some models; the control prunes nothing, so its recipe does not hold them
        "skip_layers": config["prune"]["skip_layers"].get(model, []) if parsed.is_pruned else [],
        "seed": train["seed"],
        "beta_1": train["beta_1"],
        "beta_2": train["beta_2"],
        "input_scale": train["input_scale"],
        "precision": train["precision"],  # the setting: the job resolves it on its own host
    }


def tflite_calibration(config: dict[str, Any]) -> dict[str, Any]:
    """The int8 TFLite calibration draw; empty without int8, so those jobs read no frames."""
    quantize = config["quantize"]
    if "int8" not in quantize["dtypes"]:
        return {}
    return {"frames": quantize["calibration_frames"], "seed": quantize["calibration_seed"]}


def eval_batch_size(config: dict[str, Any]) -> int:
    """Frames per call when evaluating a Keras or TFLite model over the test split."""
    return config["quantize"]["eval_batch_size"]


def memory_model(config: dict[str, Any]) -> dict[str, Any]:
    """qtools' process and memory settings (energy.*), shared by every estimate."""
    keys = ("process", "weights_on_memory", "activations_on_memory", "min_sram_size", "rd_wr_on_io")
    return {key: config["energy"][key] for key in keys}


def energy_settings(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """qtools settings (quantizer, accumulator, memory model) of each configured energy dtype."""
    accumulators = config["energy"]["accumulators"]
    return {
        dtype: {"quantizer": dtype, "accumulator": accumulators[dtype], **memory_model(config)}
        for dtype in config["energy"]["dtypes"]
    }


def energy_tflite_dtypes(config: dict[str, Any]) -> list[str]:
    """The TFLite dtypes whose accuracy the energy table shows beside its energy dtypes."""
    sources = [variants.ENERGY_ACCURACY_SOURCE[d] for d in config["energy"]["dtypes"]]
    return [dtype for kind, dtype in sources if kind == "tflite"]


def export_settings(config: dict[str, Any]) -> dict[str, Any]:
    """What every ONNX export is made and checked with (shared by the fp32 and fp16/int8 rules)."""
    deploy = config["deploy"]
    return {
        "opset": deploy["opset"],
        "check": {
            "agreement_min": deploy["agreement_min"],
            "margin": deploy["agreement_margin"],
            "accuracy_drop_max": deploy["accuracy_drop_max"],
        },
        "batch_size": deploy["eval_batch_size"],
    }


def onnx_calibration(config: dict[str, Any]) -> dict[str, Any]:
    """Static calibration of the int8 (QDQ) ONNX export."""
    return dict(config["deploy"]["calibration"])


def int8_scheme(config: dict[str, Any]) -> str:
    """TensorRT takes only symmetric int8 activations and float biases; ONNX Runtime's x86 fast
    path is uint8 activations with int32 biases. One int8 ONNX serves every configured backend."""
    return "tensorrt" if "tensorrt" in config["deploy"]["backends"] else "onnxruntime"


def bench_settings(config: dict[str, Any]) -> dict[str, Any]:
    """How every benchmark times and evaluates a deployed file."""
    deploy = config["deploy"]
    keys = ("batch_sizes", "warmup", "repeats", "min_seconds", "threads", "eval_batch_size")
    return {key: deploy[key] for key in keys}


def tensorrt_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The engine build: a batch profile over the benchmark sizes, optimised for Table V's."""
    trt = config["deploy"]["tensorrt"]
    return {
        "batch_sizes": config["deploy"]["batch_sizes"],
        "opt_batch": config["tables"]["batch_size"],
        "workspace_mb": trt["workspace_mb"],
        "device": trt["device"],
    }


def table_params(config: dict[str, Any]) -> dict[str, Any]:
    """The paper labels, the data set's name and each pruned variant's control: tables must not
    re-run when an unrelated setting changes (their inputs carry everything else)."""
    pruned = pruned_of(config)
    return {
        "models": {name: {"paper_name": e["paper_name"]} for name, e in config["models"].items()},
        "dataset": config["dataset"]["name"],
        "controls": {variant: control_of(config, variant) for variant in pruned},
    }


def table5_variants(config: dict[str, Any], model: str) -> list[str]:
    """The variants of `model` deployed and benchmarked for Table V: `tables.table5_variants` is
    one list for every model or a list per model (the fastest variant within the tolerance
    differs between models)."""
    chosen = config["tables"]["table5_variants"]
    if isinstance(chosen, list):
        return list(chosen)
    if model not in chosen:
        raise ConfigError(
            f"tables.table5_variants: no list for model {model!r} (lists for {sorted(chosen)}); "
            f"add `{model}: [...]` or give one list for every model"
        )
    return list(chosen[model])


# tfmot's quantisation-aware variants follow the recipe of this method's control and are compared
# with it; QKeras' follow qat.qkeras_recipe's (`qat_recipe`).
QAT_RECIPE = "magnitude"


def qat_recipe(config: dict[str, Any], training: str) -> str:
    """The pruning method whose dense control a quantisation-aware variant of this kind of
    training ('qat', 'pqat', 'qkeras') is fine-tuned like and compared with."""
    return config["qat"]["qkeras_recipe"] if training == "qkeras" else QAT_RECIPE


def qat_variants(config: dict[str, Any], training: str | None = None) -> list[str]:
    """qat.variants, or those of one kind of training ('qat', 'pqat', 'qkeras')."""
    names = config["qat"]["variants"]
    return [v for v in names if training is None or variants.parse(v).training == training]


def qat_settings(config: dict[str, Any], model: str, variant: str) -> dict[str, Any]:
    """What one quantisation-aware fine-tune depends on: the recipe of its `qat_recipe` control
    (same frames, steps, learning rate, distillation), seeds, and the calibration draw that sets
    a QKeras model's input and activation ranges."""
    train, quantize = config["models"][model]["train"], config["quantize"]
    method = qat_recipe(config, variants.parse(variant).training)
    return {
        "finetune": model_finetune(config, model, method),
        **{key: train[key] for key in ("seed", "beta_1", "beta_2", "precision")},
        "calibration": {
            "frames": quantize["calibration_frames"],
            "seed": quantize["calibration_seed"],
        },
    }


def front_controls(config: dict[str, Any]) -> dict[str, str]:
    """The dense control of each point of the accuracy-cost front: a pruned variant's (or a
    pqat variant's parent's) own, a QAT variant's its `qat_recipe` control's, the baseline's
    `QAT_RECIPE`'s."""
    leads = controls(config)
    out = {}
    for name in [*all_variants(config), *config["qat"]["variants"]]:
        parsed = variants.parse(name)
        own = control_of(config, parsed.parent) or leads.get(qat_recipe(config, parsed.training))
        if own and not parsed.control:
            out[name] = own
    return out


def check_qat(config: dict[str, Any]) -> None:
    """Every qat.variants entry parses, has its parent built for every model, and every model's
    layers (the architecture's static LAYER_TYPES: no TensorFlow) are ones it can quantise."""
    for name in config["qat"]["variants"]:
        try:
            parsed = variants.parse(name)
        except ValueError as err:
            raise ConfigError(f"qat.variants: {err}") from None
        kind = "qkeras" if parsed.training == "qkeras" else "tfmot"
        recipe = qat_recipe(config, parsed.training)
        if recipe not in config["prune"]["methods"]:
            key = "qat.qkeras_recipe" if kind == "qkeras" else "qat.variants"
            raise ConfigError(
                f"{key}: {name!r} would follow {recipe!r}'s control, but "
                f"prune.methods {config['prune']['methods']} has no {recipe!r}"
            )
        for model, entry in config["models"].items():
            try:
                built = layer_types(entry["arch"])
            except ValueError as err:
                raise ConfigError(f"models.{model}.arch (qat.variants needs it): {err}") from None
            unknown = sorted(built - variants.QAT_LAYERS[kind])
            if unknown:
                raise ConfigError(
                    f"qat.variants: {name!r} cannot be built for models.{model} (arch "
                    f"{entry['arch']!r}): {kind} cannot quantise its layers {unknown}; it "
                    f"handles {sorted(variants.QAT_LAYERS[kind])}"
                )
            if parsed.parent not in all_variants(config, model):
                raise ConfigError(
                    f"qat.variants: {name!r} fine-tunes {parsed.parent!r}, which models.{model} "
                    f"does not build (prune.methods/sparsities, models.{model}.method_sparsities)"
                )


def table5_batch_size(config: dict[str, Any]) -> int:
    """The batch size whose throughput Table V reports; it must have been measured."""
    batch = config["tables"]["batch_size"]
    if batch not in config["deploy"]["batch_sizes"]:
        raise ConfigError(
            f"tables.batch_size {batch} is not among deploy.batch_sizes "
            f"{config['deploy']['batch_sizes']}: Table V reports the throughput measured at that "
            "batch size; add it to deploy.batch_sizes or pick one of them"
        )
    return batch


def check_config(config: dict[str, Any]) -> None:
    """Raise ConfigError naming the key when the config cannot produce its targets."""
    for name, entry in config["models"].items():
        if entry["arch"] not in ARCHITECTURES:
            raise ConfigError(
                f"models.{name}.arch: unknown architecture {entry['arch']!r}; "
                f"known: {sorted(ARCHITECTURES)}"
            )
    for name in config["prune"]["skip_layers"]:
        if name not in config["models"]:
            raise ConfigError(
                f"prune.skip_layers.{name}: no such model; models are {sorted(config['models'])}"
            )
    per_model = isinstance(config["tables"]["table5_variants"], dict)
    for model in config["models"]:
        built = set(all_variants(config, model))
        key5 = "tables.table5_variants" + (f".{model}" if per_model else "")
        chosen = {"tables.table4_variants": config["tables"]["table4_variants"]}
        for key, names in {**chosen, key5: table5_variants(config, model)}.items():
            for variant in names:
                if variant not in built:
                    raise ConfigError(
                        f"{key}: variant {variant!r} is not built for model {model!r} by "
                        f"prune.methods/sparsities (or models.{model}.method_sparsities); "
                        f"built: {sorted(built)}"
                    )
    split = config["dataset"]["split"]
    if abs(split["train"] + split["val"] + split["test"] - 1.0) > 1e-9:
        raise ConfigError(f"dataset.split: train + val + test must sum to 1; got {split}")
    if config["dataset"]["source"] != "synthetic" and not config["dataset"]["path"]:
        raise ConfigError(
            f"dataset.path: required when dataset.source is {config['dataset']['source']!r}; "
            "point it at the data file"
        )
    if config["dataset"]["source"] == "synthetic" and not config["dataset"]["frames_per_block"]:
        raise ConfigError("dataset.frames_per_block: required for the synthetic source")
    table5_batch_size(config)
    check_qat(config)
    for name, entry in config["models"].items():
        measured = config["cluster"]["samples_per_second"]  # as amrcomp.walltime reads it
        if entry["arch"] not in measured and "default" not in measured:
            raise ConfigError(
                f"cluster.samples_per_second.{entry['arch']}: no throughput for models.{name}'s "
                "architecture and no `default`; add its measured training frames/s "
                "(train.json's samples_per_second)"
            )


def load_config(*paths: str | Path, check: bool = True) -> dict[str, Any]:
    """Default config deep-merged with each file in `paths`, validated and filled with the schema's
    defaults as Snakemake does; `check=False` skips `check_config`."""
    from snakemake.utils import validate

    config = yaml.safe_load((CONFIG_DIR / "config.yaml").read_text())
    for path in paths:
        config = deep_merge(config, yaml.safe_load(Path(path).read_text()) or {})
    validate(config, str(CONFIG_DIR / "schema.yaml"))
    if check:
        check_config(config)
    return config
