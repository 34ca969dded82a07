# Paths, targets, wildcard constraints, input functions. Params: amrcomp.settings.

from pathlib import Path

from amrcomp import frames as frames_io, gpu, variants, walltime
from amrcomp.atomic import read_json
from amrcomp.bench.offers import known_not_offered
from amrcomp.models import module_path
from amrcomp.settings import *  # noqa: F403 - the rules' params

check_config(config)

MODELS = list(config["models"])
DATA_DIR = f"results/data/{config['dataset']['name']}"
DATA_FILES = frames_io.all_paths(DATA_DIR)
DATA_MANIFEST = f"{DATA_DIR}/manifest.json"
VARIANTS = {m: all_variants(config, m) for m in MODELS}  # model -> its variants
PRUNED_VARIANTS = {m: pruned_of(config, m) for m in MODELS}
TFLITE_DTYPES = config["quantize"]["dtypes"]
ENERGY_DTYPES = config["energy"]["dtypes"]
DEPLOY_DTYPES = config["deploy"]["dtypes"]
BACKENDS = config["deploy"]["backends"]
TABLE4_VARIANTS = config["tables"]["table4_variants"]
TABLE5_VARIANTS = {m: table5_variants(config, m) for m in MODELS}
TABLE5_PRUNED = {m: [v for v in vs if v in PRUNED_VARIANTS[m]] for m, vs in TABLE5_VARIANTS.items()}
TABLE_NAMES = [*expand("table{n}", n=range(1, 6)), "table_energy", "table_energy_layers", "front"]
TFMOT_QAT = [*qat_variants(config, "qat"), *qat_variants(config, "pqat")]  # int8 .tflite files
QKERAS = qat_variants(config, "qkeras")  # .keras files


wildcard_constraints:
    model=variants.alternatives(MODELS),
    variant=variants.VARIANT_PATTERN,
    dtype=variants.alternatives(variants.TFLITE_DTYPES),
    backend=variants.alternatives(variants.BACKENDS),


def split_files(split):
    """The arrays of one split (train, val or test)."""
    return [str(p) for p in frames_io.split_paths(DATA_DIR, split).values()]


def data_dir_of_inputs(wildcards, input):
    """Folder of the split files among a job's inputs (derived from the inputs, not hard-coded)."""
    return next(str(Path(p).parent) for p in input if Path(p).parent == Path(DATA_DIR))


def arch_module(wildcards):
    """The architecture's source file: a rule input, so editing it re-runs its models only."""
    return module_path(config["models"][wildcards.model]["arch"])


def keras_model(wildcards):
    """Baseline, control, pruned or QKeras Keras model of a (model, variant)."""
    return f"results/models/{wildcards.model}/{variants.model_stem(wildcards.variant)}.keras"


def qat_parent(wildcards):
    """The float model a quantisation-aware variant is fine-tuned from."""
    parent = variants.parse(wildcards.variant).parent
    return f"results/models/{wildcards.model}/{variants.model_stem(parent)}.keras"


def per_variant(pattern, variant_list=VARIANTS, models=MODELS, **more):
    """`pattern` over models x variants (one list, or model -> its list) x further wildcards."""
    lists = variant_list if isinstance(variant_list, dict) else dict.fromkeys(models, variant_list)
    return [f for m in models for f in expand(pattern, model=m, variant=lists[m], **more)]


KERAS_EVAL = "results/eval/{model}/{variant}-fp32.json"
TFLITE_EVAL = "results/eval/tflite/{model}/{variant}-{dtype}.json"
BENCH = "results/bench/{backend}/{model}/{variant}-{dtype}.json"
ENERGY = "results/energy/{model}/{variant}-{dtype}.json"
FINETUNE_HISTORY = "results/models/{model}/pruned-{variant}.history.csv"
# What each table and figure reads, exactly: asking for one builds only what it needs.
TRAINING_SUMMARIES = expand("results/models/{model}/train.json", model=MODELS)
BASELINE_EVALS = per_variant(KERAS_EVAL, [variants.BASELINE])
KERAS_EVALS = per_variant(KERAS_EVAL)
TFLITE_EVALS = per_variant(TFLITE_EVAL, dtype=TFLITE_DTYPES)
TABLE4_KERAS_EVALS = per_variant(KERAS_EVAL, TABLE4_VARIANTS)
TABLE4_TFLITE_EVALS = per_variant(TFLITE_EVAL, TABLE4_VARIANTS, dtype=TFLITE_DTYPES)
FINETUNED = {m: [variants.model_stem(v) for v in finetuned_variants(config, m)] for m in MODELS}
PRUNE_SUMMARIES = per_variant("results/models/{model}/{variant}.json", FINETUNED)  # Table III
TABLE5_KERAS_EVALS = per_variant(KERAS_EVAL, TABLE5_VARIANTS)
TABLE5_PRUNE_SUMMARIES = per_variant("results/models/{model}/pruned-{variant}.json", TABLE5_PRUNED)
BENCHMARKS = per_variant(BENCH, TABLE5_VARIANTS, backend=BACKENDS, dtype=DEPLOY_DTYPES)
ENERGY_ESTIMATES = per_variant(ENERGY, dtype=ENERGY_DTYPES)
ENERGY_TFLITE_EVALS = per_variant(TFLITE_EVAL, dtype=energy_tflite_dtypes(config))
# The accuracy-cost front: every float variant's TFLite files and energy, the QAT variants'
# int8 files (their energy: their parent's int8 estimate), the QKeras models.
LOWBIT_ENERGY = "results/energy/{model}/{variant}-lowbit.json"
QAT_BACKENDS = [b for b in config["qat"]["backends"] if b in BACKENDS]
FRONT_INPUTS = dict(
    tflite=TFLITE_EVALS + per_variant(TFLITE_EVAL, TFMOT_QAT, dtype="int8"),
    keras=per_variant(KERAS_EVAL, QKERAS),
    energy=ENERGY_ESTIMATES + per_variant(LOWBIT_ENERGY, QKERAS),
    bench=BENCHMARKS + per_variant(BENCH, TFMOT_QAT, backend=QAT_BACKENDS, dtype="int8"),
    qat=per_variant("results/models/{model}/{variant}.json", TFMOT_QAT + QKERAS),
)
# int8 TFLite conversions calibrate on training frames; without int8 no frames are read.
TFLITE_CALIBRATION_DATA = split_files("train") if tflite_calibration(config) else []


def of_model(pattern, variant_list=VARIANTS, **more):
    """An input function: `pattern` over the variants of the job's model (its figures)."""
    return lambda wildcards: per_variant(pattern, variant_list, [wildcards.model], **more)


def onnx_conversion_inputs(wildcards):
    """fp16/int8 derive from the fp32 export and are checked against its scores (no TensorFlow);
    int8 calibrates on train."""
    fp32 = f"results/onnx/{wildcards.model}/{wildcards.variant}-fp32"
    inputs = {"fp32": f"{fp32}.onnx", "fp32_scores": f"{fp32}.scores.npy"}
    inputs["test"] = split_files("test")
    train = {"train": split_files("train")} if wildcards.dtype == "int8" else {}
    return {**inputs, **train, "manifest": DATA_MANIFEST}


ONNX = "onnx/{}.onnx"  # ONNX Runtime and OpenVINO run the same files
DEPLOYED = dict(onnxruntime=ONNX, openvino=ONNX, litert="tflite/{}.tflite", tensorrt="trt/{}.plan")
# Where a file's accuracy on a backend was scored already (amrcomp.bench.reused_evaluation).
SCORED = dict(litert="eval/tflite/{}.json", onnxruntime="onnx/{}.check.json")


def bench_inputs(wildcards):
    """A backend's deployed file (bf16: the fp32 one) and where it was scored on that backend at
    its own dtype; for a QAT file tf2onnx cannot convert, why not instead (a "not offered" row)."""
    dtype = variants.file_dtype(wildcards.dtype)
    stem = f"{wildcards.model}/{wildcards.variant}-{dtype}"
    if DEPLOYED[wildcards.backend] == ONNX and wildcards.variant in TFMOT_QAT:
        offer = checkpoints.offer_qat_onnx.get(model=wildcards.model, variant=wildcards.variant)
        if not read_json(offer.output.offer)["offered"]:
            return {"offer": offer.output.offer}
    inputs = {"deployed": f"results/{DEPLOYED[wildcards.backend].format(stem)}"}
    if wildcards.backend in SCORED and dtype == wildcards.dtype:
        inputs["scored"] = f"results/{SCORED[wildcards.backend].format(stem)}"
    if wildcards.backend == "tensorrt":
        inputs["build"] = f"results/trt/{stem}.build.json"
    return inputs


def table_outputs(name, label):
    """CSV + Parquet + HTML view of one table; the CSV and the view go into the report."""
    shown = dict(caption=f"../report/{name}.rst", category="Tables", subcategory=label)
    csv, view = f"results/{name}.csv", f"results/report/{name}.html"
    return {
        "csv": report(csv, **shown, labels={"file": f"{name}.csv"}),
        "parquet": f"results/{name}.parquet",
        "html": report(view, **shown, labels={"file": f"{name}.html (view)"}),
    }


def figure_outputs(stem, caption, subcategory, labels):
    """PNG (in the report) and SVG of one figure."""
    entry = dict(caption=f"../report/{caption}.rst", category="Figures", subcategory=subcategory)
    png = report(f"results/figures/{stem}.png", **entry, labels=labels)
    return {"png": png, "svg": f"results/figures/{stem}.svg"}


def figure_targets():
    confusion = {m: [*dict.fromkeys([variants.BASELINE, *vs])] for m, vs in TABLE5_VARIANTS.items()}
    stems = [
        *expand("{kind}_{model}", kind=["accuracy_snr", "training"], model=MODELS),
        *per_variant("confusion_{model}_{variant}", confusion),
        *expand("tradeoff_{axis}", axis=["size", "energy", "throughput"]),
        "front",
    ]
    return expand("results/figures/{stem}.{ext}", stem=stems, ext=["png", "svg"])


def all_targets():
    """Default target: every table, every figure and the summary (and all they need)."""
    tables = expand("results/{name}.{ext}", name=TABLE_NAMES, ext=["csv", "parquet"])
    return [*tables, *figure_targets(), "results/figures/data", "results/summary.md"]
