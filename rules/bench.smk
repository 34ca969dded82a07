# Deployment benchmarks (Table V): accuracy, throughput and latency of each deployed file on
# ONNX Runtime (CPU), LiteRT (the quantize stage's .tflite), OpenVINO (CPU, the ONNX files) and
# TensorRT (GPU), and the TensorRT engines those runs load. bf16 is no file: its rows run the
# fp32 file where the runtime offers bf16 and are recorded as not offered elsewhere, so no engine
# is built for it. A local run needing TensorRT checks for it before its first job; with a
# cluster executor each TensorRT job checks its own node (amrcomp.gpu).


onstart:
    gpu.gate_local_run(
        workflow.local_exec, [(j.rule.name, j.wildcards) for j in workflow.dag.needrun_jobs()]
    )


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
        dtype=variants.alternatives(variants.ONNX_DTYPES),
    conda:
        "../envs/gpu.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
        gpu=1,
    params:
        settings=tensorrt_settings(config),
    script:
        "../workflow/scripts/bench.py"


rule benchmark:
    input:
        unpack(bench_inputs),
        test=split_files("test"),
        manifest=DATA_MANIFEST,
        # LiteRT measures the precision its float models ran in against the fp16 ONNX export.
        fp16_reference=lambda w: (
            f"results/onnx/{w.model}/{w.variant}-fp16.onnx"
            if w.backend == "litert" and w.dtype != "int8"
            else []
        ),
    output:
        "results/bench/{backend}/{model}/{variant}-{dtype}.json",
    log:
        "results/logs/bench/{backend}/{model}/{variant}-{dtype}.log",
    benchmark:
        "results/benchmarks/bench/{backend}/{model}/{variant}-{dtype}.tsv"
    wildcard_constraints:
        dtype=variants.alternatives(variants.DEPLOY_DTYPES),
    conda:
        "../envs/amrcomp.yaml"
    # All cores and an exclusive slot: nothing else runs while a benchmark is timing (a row
    # known not offered times nothing: one core beside other jobs).
    threads: lambda wc: 1 if known_not_offered(wc.backend, wc.dtype) else workflow.cores
    resources:
        mem_mb=6000,
        runtime=60,
        benchmark_slot=lambda wc: int(not known_not_offered(wc.backend, wc.dtype)),
        gpu=lambda wildcards: int(wildcards.backend == "tensorrt"),
    params:
        settings=bench_settings(config),
        data_dir=data_dir_of_inputs,
        device=tensorrt_settings(config)["device"],
    script:
        "../workflow/scripts/bench.py"
