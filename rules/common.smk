# Target lists, input functions and wildcard constraints. Artifact paths are built here only.

import os
import sys
from pathlib import Path

PACKAGE_DIR = str(Path(workflow.basedir) / "workflow")
sys.path.insert(0, PACKAGE_DIR)
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (PACKAGE_DIR, os.environ.get("PYTHONPATH")) if p
)

from amrcomp import frames as frames_io  # noqa: E402
from amrcomp.models import module_path  # noqa: E402
from amrcomp.settings import all_variants, check_config, pruned_variants  # noqa: E402

check_config(config)

MODELS = list(config["models"])
DATA_DIR = f"results/data/{config['dataset']['name']}"
DATA_FILES = frames_io.all_paths(DATA_DIR)
DATA_MANIFEST = f"{DATA_DIR}/manifest.json"
VARIANTS = all_variants(config)
PRUNED_VARIANTS = pruned_variants(config["prune"])
TFLITE_DTYPES = config["quantize"]["dtypes"]
ENERGY_DTYPES = config["energy"]["dtypes"]
DEPLOY_DTYPES = config["deploy"]["dtypes"]
BACKENDS = config["deploy"]["backends"]
TABLE5_VARIANTS = config["tables"]["table5_variants"]


wildcard_constraints:
    model="|".join(MODELS),
    variant=r"baseline|(magnitude|m_by_n|filters)-\d+",
    dtype="fp32|fp16|dynamic|int8",
    backend="onnxruntime|litert|tensorrt",


def split_files(split):
    """The arrays of one split (train, val or test)."""
    return [str(p) for p in frames_io.split_paths(DATA_DIR, split).values()]


def model_settings(wildcards):
    """One model's config entry: a rule param, so editing it re-runs that model only."""
    return config["models"][wildcards.model]


def arch_module(wildcards):
    """The architecture's source file: a rule input, so editing it re-runs its models only."""
    return module_path(config["models"][wildcards.model]["arch"])


def keras_model(wildcards):
    """Baseline or pruned Keras model of a (model, variant)."""
    if wildcards.variant == "baseline":
        return f"results/models/{wildcards.model}/baseline.keras"
    return f"results/models/{wildcards.model}/pruned-{wildcards.variant}.keras"


def trained_models():
    return expand("results/models/{model}/baseline.keras", model=MODELS)


def baseline_evaluations():
    return expand("results/eval/{model}/baseline-fp32.json", model=MODELS)


def pruned_models():
    return expand(
        "results/models/{model}/pruned-{variant}.keras",
        model=MODELS,
        variant=PRUNED_VARIANTS,
    )


def keras_evaluations():
    return expand("results/eval/{model}/{variant}-fp32.json", model=MODELS, variant=VARIANTS)


def tflite_evaluations():
    return expand(
        "results/eval/tflite/{model}/{variant}-{dtype}.json",
        model=MODELS,
        variant=VARIANTS,
        dtype=TFLITE_DTYPES,
    )


def energy_estimates():
    return expand(
        "results/energy/{model}/{variant}-{dtype}.json",
        model=MODELS,
        variant=VARIANTS,
        dtype=ENERGY_DTYPES,
    )


def deploy_benchmarks():
    """Benchmarks of the Table V variants on every configured backend."""
    return expand(
        "results/bench/{backend}/{model}/{variant}-{dtype}.json",
        backend=BACKENDS,
        model=MODELS,
        variant=TABLE5_VARIANTS,
        dtype=DEPLOY_DTYPES,
    )


def table_files(name):
    return [f"results/{name}.csv", f"results/{name}.parquet"]


def all_targets():
    """Default target: the last stage built (every table once the tables stage exists)."""
    return baseline_evaluations()
