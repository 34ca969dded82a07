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
    conda:
        "../envs/amrcomp.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        dtype="fp32",
        data_dir=data_dir_of_inputs,
        opset=DEPLOY["opset"],
        check=EXPORT_CHECK,
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
    conda:
        "../envs/amrcomp.yaml"
    threads: 2
    resources:
        mem_mb=6000,
        runtime=60,
    params:
        dtype=lambda wildcards: wildcards.dtype,
        data_dir=data_dir_of_inputs,
        opset=DEPLOY["opset"],
        check=EXPORT_CHECK,
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
    conda:
        "../envs/gpu.yaml"
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
    conda:
        "../envs/amrcomp.yaml"
    # All cores and an exclusive slot: nothing else runs while a benchmark is timing.
    threads: workflow.cores
    resources:
        mem_mb=6000,
        runtime=60,
        benchmark_slot=1,
        gpu=lambda wildcards: int(wildcards.backend == "tensorrt"),
    params:
        settings=BENCH_SETTINGS,
        data_dir=data_dir_of_inputs,
        device=TRT.get("device", 0),
    script:
        "../workflow/scripts/benchmark.py"
