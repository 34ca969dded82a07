# Target lists, input functions and wildcard constraints. Artifact paths are built here only.

import os
import sys
from pathlib import Path

PACKAGE_DIR = str(Path(workflow.basedir) / "workflow")
sys.path.insert(0, PACKAGE_DIR)

from amrcomp import frames as frames_io  # noqa: E402
from amrcomp.models import module_path  # noqa: E402
from amrcomp.settings import (  # noqa: E402
    all_variants,
    check_config,
    model_finetune,
    pruned_variants,
)

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
    """One model's config entry but its fine-tune overrides (those are `prune_settings`'): a rule
    param, so editing it re-runs that model only, and editing its fine-tune keeps its baseline.
    """
    entry = config["models"][wildcards.model]
    return {key: value for key, value in entry.items() if key != "finetune"}


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
    return expand(
        "results/eval/{model}/{variant}-fp32.json", model=MODELS, variant=VARIANTS
    )


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
    """Default target: every table, every figure and the summary (and all they need)."""
    return [
        *(path for name in TABLE_NAMES for path in table_files(name)),
        *figure_targets(),
        "results/figures/data",
        "results/summary.md",
    ]


# --- Tables stage: exactly what each table, figure and the summary reads. ---

TABLE_NAMES = [
    "table1",
    "table2",
    "table3",
    "table4",
    "table5",
    "table_energy",
    "table_energy_layers",
]


def training_summaries():
    return expand("results/models/{model}/train.json", model=MODELS)


def model_keras_evaluations(model):
    """Keras evaluations of every variant of one model (its accuracy-vs-SNR figure)."""
    return expand(
        "results/eval/{model}/{variant}-fp32.json", model=[model], variant=VARIANTS
    )


def table4_tflite_evaluations(model=None):
    """TFLite evaluations of the Table IV variants at every quantize dtype (of one model or all)."""
    return expand(
        "results/eval/tflite/{model}/{variant}-{dtype}.json",
        model=[model] if model else MODELS,
        variant=config["tables"]["table4_variants"],
        dtype=TFLITE_DTYPES,
    )


def table4_keras_evaluations():
    return expand(
        "results/eval/{model}/{variant}-fp32.json",
        model=MODELS,
        variant=config["tables"]["table4_variants"],
    )


def table5_keras_evaluations():
    """Keras evaluations of the Table V variants (their MACs and nonzero parameters)."""
    return expand(
        "results/eval/{model}/{variant}-fp32.json",
        model=MODELS,
        variant=TABLE5_VARIANTS,
    )


def table5_prune_summaries():
    """Prune summaries of the pruned Table V variants (parameters before pruning)."""
    return expand(
        "results/models/{model}/pruned-{variant}.json",
        model=MODELS,
        variant=[v for v in TABLE5_VARIANTS if v != "baseline"],
    )


def energy_accuracy_evaluations():
    """TFLite evaluations giving the accuracy beside each non-fp32 energy dtype (fp32 is Keras)."""
    from amrcomp.tables.build import ENERGY_ACCURACY_SOURCE

    sources = [ENERGY_ACCURACY_SOURCE[d] for d in ENERGY_DTYPES]
    return expand(
        "results/eval/tflite/{model}/{variant}-{dtype}.json",
        model=MODELS,
        variant=VARIANTS,
        dtype=[dtype for kind, dtype in sources if kind == "tflite"],
    )


def finetune_histories(model):
    return expand(
        "results/models/{model}/pruned-{variant}.history.csv",
        model=[model],
        variant=PRUNED_VARIANTS,
    )


def figure_targets():
    """PNG and SVG of every figure."""
    stems = [
        *expand("accuracy_snr_{model}", model=MODELS),
        *expand("training_{model}", model=MODELS),
        *expand(
            "confusion_{model}_{variant}",
            model=MODELS,
            variant=list(dict.fromkeys(["baseline", *TABLE5_VARIANTS])),
        ),
        "tradeoff_size",
        "tradeoff_energy",
        "tradeoff_throughput",
    ]
    return [f"results/figures/{stem}.{ext}" for stem in stems for ext in ("png", "svg")]


# int8 TFLite conversions calibrate on training frames; without int8 the quantize jobs read
# neither the training split nor these settings.
TFLITE_CALIBRATION = (
    {
        "frames": config["quantize"]["calibration_frames"],
        "seed": config["quantize"].get("calibration_seed", 2016),
    }
    if "int8" in TFLITE_DTYPES
    else {}
)
TFLITE_CALIBRATION_DATA = split_files("train") if TFLITE_CALIBRATION else []


def energy_settings(wildcards):
    """qtools settings of each energy dtype (accumulator included), by dtype."""
    from amrcomp.energy import settings_for

    return {dtype: settings_for(config["energy"], dtype) for dtype in ENERGY_DTYPES}


def data_dir_of_inputs(wildcards, input):
    """Folder of the split files among a job's inputs (derived from the inputs, not hard-coded)."""
    for path in map(Path, input):
        if path.parent == Path(DATA_DIR):
            return str(path.parent)
    raise ValueError(f"no input of this job lies in {DATA_DIR}")


# --- prune stage: settings and input functions (kept here: rule files hold rules only). ---


def prune_settings(wildcards):
    """What one pruned variant depends on, and nothing more: adding a sparsity level leaves the
    params of existing variants unchanged, so only the new variant is built."""
    train = config["models"][wildcards.model]["train"]
    method = wildcards.variant.split("-")[0]
    return {
        "finetune": model_finetune(config, wildcards.model),
        "frequency": (
            config["prune"].get("frequency", 100) if method == "magnitude" else None
        ),
        "skip_layers": (config["prune"].get("skip_layers") or {}).get(
            wildcards.model, []
        ),
        "seed": train["seed"],
        "beta_1": train["beta_1"],
        "beta_2": train["beta_2"],
        "input_scale": train.get("input_scale"),
    }


# --- deploy stage: settings and input functions (kept here: rule files hold rules only). ---

# Deployment (Table V): ONNX exports (fp32, fp16, QDQ int8), TensorRT engines, and benchmarks on
# ONNX Runtime (CPU), LiteRT (the quantize stage's .tflite) and TensorRT (GPU; gated at start).

DEPLOY = config["deploy"]
# TensorRT takes only symmetric int8 activations and float biases; ONNX Runtime's x86 fast path
# is uint8 activations with int32 biases. One int8 ONNX serves every configured backend.
INT8_SCHEME = "tensorrt" if "tensorrt" in BACKENDS else "onnxruntime"
# Acceptance of each ONNX export against its Keras model (amrcomp.export.check_export's keywords).
EXPORT_CHECK = {
    "agreement_min": DEPLOY.get("agreement_min", 0.95),
    "margin": DEPLOY.get("agreement_margin", 0.1),
    "accuracy_drop_max": DEPLOY.get("accuracy_drop_max", 0.02),
}
BENCH_SETTINGS = {
    "batch_sizes": DEPLOY["batch_sizes"],
    "warmup": DEPLOY["warmup"],
    "repeats": DEPLOY["repeats"],
    "min_seconds": DEPLOY.get("min_seconds", 0.0),
    "threads": DEPLOY.get("threads", 1),
    "eval_batch_size": DEPLOY.get("eval_batch_size", 1024),
}
CALIBRATION = {
    "method": "minmax",
    "frames": 512,
    "seed": config["dataset"]["split_seed"],
    **DEPLOY.get("calibration", {}),
}
TRT = DEPLOY.get("tensorrt", {})


def onnx_conversion_inputs(wildcards):
    """fp16/int8 ONNX derive from the fp32 export; int8 also needs training frames to calibrate."""
    inputs = {
        "fp32": f"results/onnx/{wildcards.model}/{wildcards.variant}-fp32.onnx",
        "model": keras_model(wildcards),
        "test": split_files("test"),
        "manifest": DATA_MANIFEST,
    }
    if wildcards.dtype == "int8":
        inputs["train"] = split_files("train")
    return inputs


def bench_inputs(wildcards):
    """The deployed file of a backend (ONNX, .tflite or TensorRT plan) and the test split."""
    stem = f"{wildcards.model}/{wildcards.variant}-{wildcards.dtype}"
    inputs = {"test": split_files("test"), "manifest": DATA_MANIFEST}
    if wildcards.backend == "onnxruntime":
        inputs["deployed"] = f"results/onnx/{stem}.onnx"
    elif wildcards.backend == "litert":
        inputs["deployed"] = f"results/tflite/{stem}.tflite"
    else:
        inputs["deployed"] = f"results/trt/{stem}.plan"
        inputs["build"] = f"results/trt/{stem}.build.json"
    return inputs


# --- tables stage: settings and input functions (kept here: rule files hold rules only). ---

# Result tables (Tables I-V and energy), figures and summary, registered in the Snakemake report.
# Each rule's inputs are exactly the records its builder reads, so asking for one table builds
# only what that table needs (snakemake results/table5.csv runs no energy or TFLite jobs).

# Only the paper labels are params: the tables must not re-run when an unrelated setting changes
# (their inputs carry everything else). The config's sha256 goes into the table metadata.
PAPER_NAMES = {
    name: {"paper_name": entry.get("paper_name")}
    for name, entry in config["models"].items()
}

if config["tables"]["batch_size"] not in config["deploy"]["batch_sizes"]:
    raise ValueError(
        f"tables.batch_size {config['tables']['batch_size']} is not among deploy.batch_sizes "
        f"{config['deploy']['batch_sizes']}: Table V reports the throughput measured at that batch size; "
        "add it to deploy.batch_sizes or pick one of them"
    )


def table_outputs(name, label):
    """CSV + Parquet + HTML view of one table; the CSV and the view go into the report."""
    return {
        "csv": report(
            f"results/{name}.csv",
            caption=f"../report/{name}.rst",
            category="Tables",
            subcategory=label,
            labels={"file": f"{name}.csv"},
        ),
        "parquet": f"results/{name}.parquet",
        "html": report(
            f"results/report/{name}.html",
            caption=f"../report/{name}.rst",
            category="Tables",
            subcategory=label,
            labels={"file": f"{name}.html (view)"},
        ),
    }


def figure_outputs(stem, caption, subcategory, labels):
    """PNG (in the report) and SVG of one figure."""
    return {
        "png": report(
            f"results/figures/{stem}.png",
            caption=f"../report/{caption}.rst",
            category="Figures",
            subcategory=subcategory,
            labels=labels,
        ),
        "svg": f"results/figures/{stem}.svg",
    }
