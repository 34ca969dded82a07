# TFLite post-training quantisation (Table IV) and LiteRT evaluation of every variant and dtype.


# One job converts a variant to every dtype: starting TensorFlow costs a job about 3 s, as much
# as a conversion. Every .tflite is still its own target; a calibration edit re-runs the
# variant's job (all its dtypes), a new dtype re-runs it too.
rule quantize:
    input:
        model=keras_model,
        train=TFLITE_CALIBRATION_DATA,
    output:
        expand(
            "results/tflite/{{model}}/{{variant}}-{dtype}.tflite", dtype=TFLITE_DTYPES
        ),
    log:
        "results/logs/quantize/{model}/{variant}.log",
    benchmark:
        "results/benchmarks/quantize/{model}/{variant}.tsv"
    conda:
        "../envs/amrcomp.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        dtypes=TFLITE_DTYPES,
        calibration=TFLITE_CALIBRATION,
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
