rule train:
    input:
        data=DATA_FILES,
        arch=arch_module,
    output:
        model="results/models/{model}/baseline.keras",
        history="results/models/{model}/history.csv",
        summary="results/models/{model}/train.json",
    log:
        "results/logs/train/{model}.log",
    benchmark:
        "results/benchmarks/train/{model}.tsv"
    conda:
        "../envs/amrcomp.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=walltime.train_runtime(config),  # minutes, from measured throughput
        gpu=0,
    params:
        settings=lambda wildcards: model_settings(config, wildcards.model),
        data_dir=data_dir_of_inputs,
    script:
        "../workflow/scripts/train.py"
