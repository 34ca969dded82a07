# Quantisation-aware variants beyond the paper (qat.variants): tfmot QAT and prune-preserving
# QAT to int8 .tflite files, QKeras low-bit models to .keras files; each fine-tuned from its
# float parent by the recipe of the dense control it is compared with (amrcomp.qat).


rule qat:
    input:
        model=qat_parent,
        train=split_files("train"),
        val=split_files("val"),
        manifest=DATA_MANIFEST,
    output:
        tflite="results/tflite/{model}/{variant}-int8.tflite",
        history="results/models/{model}/{variant}.history.csv",
        summary="results/models/{model}/{variant}.json",
    log:
        "results/logs/qat/{model}/{variant}.log",
    benchmark:
        "results/benchmarks/qat/{model}/{variant}.tsv"
    wildcard_constraints:
        variant=variants.TFMOT_QAT_PATTERN,
    conda:
        "../envs/amrcomp.yaml"
    # The prune stage's threads: the same fine-tune, so the same float sums.
    threads: 2
    resources:
        mem_mb=8000,
        runtime=walltime.finetune_runtime(config),
    params:
        settings=lambda wc: qat_settings(config, wc.model, wc.variant),
        data_dir=data_dir_of_inputs,
    script:
        "../workflow/scripts/qat.py"


# QKeras models are .keras files: evaluate_keras scores them, energy_lowbit prices them.
use rule qat as qkeras with:
    output:
        model="results/models/{model}/{variant}.keras",
        history="results/models/{model}/{variant}.history.csv",
        summary="results/models/{model}/{variant}.json",
    wildcard_constraints:
        variant=variants.QKERAS_PATTERN,
