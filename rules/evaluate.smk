# Accuracy of every Keras model (fp32) and every TFLite file (LiteRT) over the test split.


rule evaluate_keras:
    input:
        model=keras_model,
        test=split_files("test"),
        manifest=DATA_MANIFEST,
    output:
        json="results/eval/{model}/{variant}-fp32.json",
        # Its scores per test frame: the reference its fp32 ONNX export is checked against.
        scores="results/eval/{model}/{variant}-fp32.scores.npy",
    log:
        "results/logs/eval/{model}/{variant}-fp32.log",
    benchmark:
        "results/benchmarks/eval/{model}/{variant}-fp32.tsv"
    conda:
        "../envs/amrcomp.yaml"
    # One thread: these jobs are mostly start-up, so two run side by side on 2 cores.
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        data_dir=data_dir_of_inputs,
        batch_size=eval_batch_size(config),
    script:
        "../workflow/scripts/evaluate.py"


use rule evaluate_keras as evaluate_tflite with:
    input:
        model="results/tflite/{model}/{variant}-{dtype}.tflite",
        test=split_files("test"),
        manifest=DATA_MANIFEST,
    output:
        json="results/eval/tflite/{model}/{variant}-{dtype}.json",
    log:
        "results/logs/eval_tflite/{model}/{variant}-{dtype}.log",
    benchmark:
        "results/benchmarks/eval_tflite/{model}/{variant}-{dtype}.tsv"
