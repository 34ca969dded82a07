# TFLite post-training quantisation (Table IV) of every variant.


# One job converts a variant to every dtype: starting TensorFlow costs a job about 3 s, as much
# as a conversion. Every .tflite is still its own target; a calibration edit re-runs the
# variant's job (all its dtypes), a new dtype re-runs it too.
rule quantize:
    input:
        model=keras_model,
        train=TFLITE_CALIBRATION_DATA,
    output:
        expand("results/tflite/{{model}}/{{variant}}-{dtype}.tflite", dtype=TFLITE_DTYPES),
    log:
        "results/logs/quantize/{model}/{variant}.log",
    benchmark:
        "results/benchmarks/quantize/{model}/{variant}.tsv"
    wildcard_constraints:
        variant=variants.FLOAT_PATTERN,  # a QAT variant's .tflite is the qat rule's
    conda:
        "../envs/amrcomp.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        dtypes=TFLITE_DTYPES,
        calibration=tflite_calibration(config),
    script:
        "../workflow/scripts/quantize.py"
