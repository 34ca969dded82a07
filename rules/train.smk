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
        runtime=600,
        gpu=0,
    params:
        settings=model_settings,
        data_dir=data_dir_of_inputs,
    script:
        "../workflow/scripts/train.py"


rule evaluate_keras:
    input:
        model=keras_model,
        test=split_files("test"),
        manifest=DATA_MANIFEST,
    output:
        "results/eval/{model}/{variant}-fp32.json",
    log:
        "results/logs/eval/{model}/{variant}-fp32.log",
    benchmark:
        "results/benchmarks/eval/{model}/{variant}-fp32.tsv"
    conda:
        "../envs/amrcomp.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        data_dir=data_dir_of_inputs,
        batch_size=config["quantize"].get("eval_batch_size", 1024),
    script:
        "../workflow/scripts/evaluate.py"
