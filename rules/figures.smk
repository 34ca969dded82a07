# Figures: one rule per kind of figure, all through workflow/scripts/figures.py, which looks
# the rule's drawer up by rule name. The rules differ only in inputs and outputs.


# Light jobs: with a cluster executor they run on the submit host, not as cluster jobs.
localrules:
    figure_accuracy_snr,
    figure_confusion,
    figure_training,
    figure_tradeoff_size,
    figure_tradeoff_energy,
    figure_tradeoff_throughput,
    figure_front,


rule figure_accuracy_snr:
    input:
        evals=of_model(KERAS_EVAL),
        tflite=of_model(TFLITE_EVAL, TABLE4_VARIANTS, dtype=TFLITE_DTYPES),
    output:
        **figure_outputs(
            "accuracy_snr_{model}",
            "accuracy_snr",
            "Accuracy vs SNR",
            {"model": "{model}"},
        ),
    log:
        "results/logs/figures/accuracy_snr_{model}.log",
    benchmark:
        "results/benchmarks/figures/accuracy_snr_{model}.tsv"
    conda:
        "../envs/amrcomp.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../workflow/scripts/figures.py"


use rule figure_accuracy_snr as figure_confusion with:
    input:
        evaluation="results/eval/{model}/{variant}-fp32.json",
    output:
        **figure_outputs(
            "confusion_{model}_{variant}",
            "confusion",
            "Confusion matrices",
            {"model": "{model}", "variant": "{variant}"},
        ),
    log:
        "results/logs/figures/confusion_{model}_{variant}.log",
    benchmark:
        "results/benchmarks/figures/confusion_{model}_{variant}.tsv"


use rule figure_accuracy_snr as figure_training with:
    input:
        baseline="results/models/{model}/history.csv",
        finetune=of_model(FINETUNE_HISTORY, PRUNED_VARIANTS),
    output:
        **figure_outputs("training_{model}", "training", "Training curves", {"model": "{model}"}),
    log:
        "results/logs/figures/training_{model}.log",
    benchmark:
        "results/benchmarks/figures/training_{model}.tsv"


use rule figure_accuracy_snr as figure_tradeoff_size with:
    input:
        tflite=TFLITE_EVALS,
    output:
        **figure_outputs("tradeoff_size", "tradeoff_size", "Trade-offs", {"axis": "size"}),
    log:
        "results/logs/figures/tradeoff_size.log",
    benchmark:
        "results/benchmarks/figures/tradeoff_size.tsv"


use rule figure_accuracy_snr as figure_tradeoff_energy with:
    input:
        table="results/table_energy.parquet",
    output:
        **figure_outputs("tradeoff_energy", "tradeoff_energy", "Trade-offs", {"axis": "energy"}),
    log:
        "results/logs/figures/tradeoff_energy.log",
    benchmark:
        "results/benchmarks/figures/tradeoff_energy.tsv"


use rule figure_accuracy_snr as figure_tradeoff_throughput with:
    input:
        table="results/table5.parquet",
    output:
        **figure_outputs(
            "tradeoff_throughput",
            "tradeoff_throughput",
            "Trade-offs",
            {"axis": "throughput"},
        ),
    log:
        "results/logs/figures/tradeoff_throughput.log",
    benchmark:
        "results/benchmarks/figures/tradeoff_throughput.tsv"


use rule figure_accuracy_snr as figure_front with:
    input:
        table="results/front.parquet",
    output:
        **figure_outputs("front", "front", "Trade-offs", {"axis": "all"}),
    log:
        "results/logs/figures/front.log",
    benchmark:
        "results/benchmarks/figures/front.tsv"
