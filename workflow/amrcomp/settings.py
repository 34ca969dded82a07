"""Config checks the JSON schema cannot express, and loading outside Snakemake (tests, scripts).

Snakemake validates `config` against config/schema.yaml; `check_config` then checks what
depends on the code (known architectures, variant names, TensorRT availability) so a bad
config fails at the start of a run with a message naming the key, not hours into it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from amrcomp.models import ARCHITECTURES

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


def pruned_variants(prune: dict[str, Any]) -> list[str]:
    """Variant names built by the prune stage: '{method}-{sparsity}' (2:4 is always 50 %)."""
    variants: list[str] = []
    for method in prune["methods"]:
        if method == "m_by_n":
            variants.append("m_by_n-50")
        else:
            variants.extend(f"{method}-{s}" for s in prune["sparsities"])
    return variants


def model_finetune(config: dict[str, Any], model: str) -> dict[str, Any]:
    """`prune.finetune` with `models.<model>.finetune` laid over it: the one place that decides
    how a model's pruned variants are fine-tuned."""
    return {**config["prune"]["finetune"], **(config["models"][model].get("finetune") or {})}


def all_variants(config: dict[str, Any]) -> list[str]:
    return ["baseline", *pruned_variants(config["prune"])]


def check_config(config: dict[str, Any]) -> None:
    """Raise ConfigError naming the key when the config cannot produce its targets."""
    for name, entry in config["models"].items():
        if entry["arch"] not in ARCHITECTURES:
            raise ConfigError(f"models.{name}.arch: unknown architecture {entry['arch']!r}; known: {sorted(ARCHITECTURES)}")
    for name in (config["prune"].get("skip_layers") or {}):
        if name not in config["models"]:
            raise ConfigError(f"prune.skip_layers.{name}: no such model; models are {sorted(config['models'])}")
    built = set(all_variants(config))
    for key in ("table4_variants", "table5_variants"):
        for variant in config["tables"][key]:
            if variant not in built:
                raise ConfigError(f"tables.{key}: variant {variant!r} is not built by prune.methods/sparsities; built: {sorted(built)}")
    split = config["dataset"]["split"]
    if abs(split["train"] + split["val"] + split["test"] - 1.0) > 1e-9:
        raise ConfigError(f"dataset.split: train + val + test must sum to 1; got {split}")
    if config["dataset"]["source"] != "synthetic" and not config["dataset"].get("path"):
        raise ConfigError(f"dataset.path: required when dataset.source is {config['dataset']['source']!r}; point it at the data file")
    if config["dataset"]["source"] == "synthetic" and not config["dataset"].get("frames_per_block"):
        raise ConfigError("dataset.frames_per_block: required for the synthetic source")
    if "tensorrt" in config["deploy"]["backends"]:
        from amrcomp.gpu import require_tensorrt

        require_tensorrt()


def load_config(*paths: str | Path, validate: bool = True) -> dict[str, Any]:
    """Default config deep-merged with each file in `paths`, validated like Snakemake does."""
    config = yaml.safe_load((CONFIG_DIR / "config.yaml").read_text())
    for path in paths:
        config = deep_merge(config, yaml.safe_load(Path(path).read_text()) or {})
    if validate:
        from snakemake.utils import validate as snakemake_validate

        snakemake_validate(config, str(CONFIG_DIR / "schema.yaml"))
        check_config(config)
    return config
