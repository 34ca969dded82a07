# TFLite post-training quantisation (Table IV) and LiteRT evaluation of every variant and dtype.


rule quantize:
    input:
        model=keras_model,
        train=quantize_calibration_data,
    output:
        "results/tflite/{model}/{variant}-{dtype}.tflite",
    log:
        "results/logs/quantize/{model}/{variant}-{dtype}.log",
    benchmark:
        "results/benchmarks/quantize/{model}/{variant}-{dtype}.tsv"
    conda:
        "../envs/amrcomp.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        calibration=quantize_calibration,
    script:
        "../workflow/scripts/quantize.py"


rule evaluate_tflite:
    input:
        tflite="results/tflite/{model}/{variant}-{dtype}.tflite",
        test=split_files("test"),
        manifest=DATA_MANIFEST,
    output:
        "results/eval/tflite/{model}/{variant}-{dtype}.json",
    log:
        "results/logs/eval_tflite/{model}/{variant}-{dtype}.log",
    benchmark:
        "results/benchmarks/eval_tflite/{model}/{variant}-{dtype}.tsv"
    conda:
        "../envs/amrcomp.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        batch_size=config["quantize"].get("eval_batch_size", 1024),
    script:
        "../workflow/scripts/evaluate_tflite.py"
