# Deployment (Table V): ONNX exports (fp32, fp16, QDQ int8), TensorRT engines, and benchmarks on
# ONNX Runtime (CPU), LiteRT (the quantize stage's .tflite) and TensorRT (GPU; gated at start).

DEPLOY = config["deploy"]
# TensorRT takes only symmetric int8 activations and float biases; ONNX Runtime's x86 fast path
# is uint8 activations with int32 biases. One int8 ONNX serves every configured backend.
INT8_SCHEME = "tensorrt" if "tensorrt" in BACKENDS else "onnxruntime"
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


rule export_onnx:
    input:
        model=keras_model,
        test=split_files("test"),
        manifest=DATA_MANIFEST,
    output:
        onnx="results/onnx/{model}/{variant}-fp32.onnx",
        check="results/onnx/{model}/{variant}-fp32.check.json",
    log:
        "results/logs/onnx/{model}/{variant}-fp32.log",
    benchmark:
        "results/benchmarks/onnx/{model}/{variant}-fp32.tsv"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        dtype="fp32",
        data_dir=DATA_DIR,
        opset=DEPLOY["opset"],
        agreement_min=DEPLOY.get("agreement_min", 0.95),
        batch_size=BENCH_SETTINGS["eval_batch_size"],
    script:
        "../workflow/scripts/export.py"


rule convert_onnx:
    input:
        unpack(onnx_conversion_inputs),
    output:
        onnx="results/onnx/{model}/{variant}-{dtype}.onnx",
        check="results/onnx/{model}/{variant}-{dtype}.check.json",
    log:
        "results/logs/onnx/{model}/{variant}-{dtype}.log",
    benchmark:
        "results/benchmarks/onnx/{model}/{variant}-{dtype}.tsv"
    wildcard_constraints:
        dtype="fp16|int8",
    threads: 2
    resources:
        mem_mb=6000,
        runtime=60,
    params:
        dtype=lambda wildcards: wildcards.dtype,
        data_dir=DATA_DIR,
        opset=DEPLOY["opset"],
        agreement_min=DEPLOY.get("agreement_min", 0.95),
        batch_size=BENCH_SETTINGS["eval_batch_size"],
        calibration=CALIBRATION,
        int8_scheme=INT8_SCHEME,
    script:
        "../workflow/scripts/export.py"


rule trt_build:
    input:
        onnx="results/onnx/{model}/{variant}-{dtype}.onnx",
    output:
        plan="results/trt/{model}/{variant}-{dtype}.plan",
        info="results/trt/{model}/{variant}-{dtype}.build.json",
    log:
        "results/logs/trt/{model}/{variant}-{dtype}.log",
    benchmark:
        "results/benchmarks/trt/{model}/{variant}-{dtype}.tsv"
    wildcard_constraints:
        dtype="fp32|fp16|int8",
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
        gpu=1,
    params:
        batch_sizes=DEPLOY["batch_sizes"],
        opt_batch=config["tables"]["batch_size"],
        workspace_mb=TRT.get("workspace_mb", 1024),
        device=TRT.get("device", 0),
    script:
        "../workflow/scripts/trt_build.py"


rule benchmark:
    input:
        unpack(bench_inputs),
    output:
        "results/bench/{backend}/{model}/{variant}-{dtype}.json",
    log:
        "results/logs/bench/{backend}/{model}/{variant}-{dtype}.log",
    benchmark:
        "results/benchmarks/bench/{backend}/{model}/{variant}-{dtype}.tsv"
    # All cores and an exclusive slot: nothing else runs while a benchmark is timing.
    threads: workflow.cores
    resources:
        mem_mb=6000,
        runtime=60,
        benchmark_slot=1,
        gpu=lambda wildcards: int(wildcards.backend == "tensorrt"),
    params:
        settings=BENCH_SETTINGS,
        data_dir=DATA_DIR,
        device=TRT.get("device", 0),
    script:
        "../workflow/scripts/benchmark.py"
