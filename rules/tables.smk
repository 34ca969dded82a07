rule table1:
    input:
        evals=baseline_evaluations(),
        manifest=DATA_MANIFEST,
    output:
        **table_outputs("table1", "Table I"),
    log:
        "results/logs/tables/table1.log",
    benchmark:
        "results/benchmarks/tables/table1.tsv"
    conda:
        "../envs/amrcomp.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        models=PAPER_NAMES,
        dataset=config["dataset"]["name"],
    script:
        "../workflow/scripts/tables.py"


rule table2:
    input:
        train=training_summaries(),
        manifest=DATA_MANIFEST,
    output:
        **table_outputs("table2", "Table II"),
    log:
        "results/logs/tables/table2.log",
    benchmark:
        "results/benchmarks/tables/table2.tsv"
    conda:
        "../envs/amrcomp.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        models=PAPER_NAMES,
        dataset=config["dataset"]["name"],
    script:
        "../workflow/scripts/tables.py"


rule table3:
    input:
        evals=keras_evaluations(),
        manifest=DATA_MANIFEST,
    output:
        **table_outputs("table3", "Table III"),
    log:
        "results/logs/tables/table3.log",
    benchmark:
        "results/benchmarks/tables/table3.tsv"
    conda:
        "../envs/amrcomp.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        models=PAPER_NAMES,
        dataset=config["dataset"]["name"],
    script:
        "../workflow/scripts/tables.py"


rule table4:
    input:
        tflite=table4_tflite_evaluations(),
        evals=table4_keras_evaluations(),
        manifest=DATA_MANIFEST,
    output:
        **table_outputs("table4", "Table IV"),
    log:
        "results/logs/tables/table4.log",
    benchmark:
        "results/benchmarks/tables/table4.tsv"
    conda:
        "../envs/amrcomp.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        models=PAPER_NAMES,
        dataset=config["dataset"]["name"],
    script:
        "../workflow/scripts/tables.py"


rule table5:
    input:
        bench=deploy_benchmarks(),
        evals=table5_keras_evaluations(),
        prune=table5_prune_summaries(),
        manifest=DATA_MANIFEST,
    output:
        **table_outputs("table5", "Table V"),
    log:
        "results/logs/tables/table5.log",
    benchmark:
        "results/benchmarks/tables/table5.tsv"
    conda:
        "../envs/amrcomp.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        models=PAPER_NAMES,
        dataset=config["dataset"]["name"],
        batch_size=config["tables"]["batch_size"],
    script:
        "../workflow/scripts/tables.py"


rule table_energy:
    input:
        energy=energy_estimates(),
        evals=keras_evaluations(),
        tflite=energy_accuracy_evaluations(),
        manifest=DATA_MANIFEST,
    output:
        **table_outputs("table_energy", "Energy"),
        layers_csv=report(
            "results/table_energy_layers.csv",
            caption="../report/table_energy_layers.rst",
            category="Tables",
            subcategory="Energy per layer",
            labels={"file": "table_energy_layers.csv"},
        ),
        layers_parquet="results/table_energy_layers.parquet",
        layers_html=report(
            "results/report/table_energy_layers.html",
            caption="../report/table_energy_layers.rst",
            category="Tables",
            subcategory="Energy per layer",
            labels={"file": "table_energy_layers.html (view)"},
        ),
    log:
        "results/logs/tables/table_energy.log",
    benchmark:
        "results/benchmarks/tables/table_energy.tsv"
    conda:
        "../envs/amrcomp.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        models=PAPER_NAMES,
        dataset=config["dataset"]["name"],
    script:
        "../workflow/scripts/tables.py"


rule figure_accuracy_snr:
    input:
        evals=lambda wc: model_keras_evaluations(wc.model),
        tflite=lambda wc: table4_tflite_evaluations(wc.model),
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


rule figure_confusion:
    input:
        "results/eval/{model}/{variant}-fp32.json",
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
    conda:
        "../envs/amrcomp.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../workflow/scripts/figures.py"


rule figure_training:
    input:
        baseline="results/models/{model}/history.csv",
        finetune=lambda wc: finetune_histories(wc.model),
    output:
        **figure_outputs(
            "training_{model}", "training", "Training curves", {"model": "{model}"}
        ),
    log:
        "results/logs/figures/training_{model}.log",
    benchmark:
        "results/benchmarks/figures/training_{model}.tsv"
    conda:
        "../envs/amrcomp.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../workflow/scripts/figures.py"


rule figure_tradeoff_size:
    input:
        tflite=tflite_evaluations(),
    output:
        **figure_outputs(
            "tradeoff_size", "tradeoff_size", "Trade-offs", {"axis": "size"}
        ),
    log:
        "results/logs/figures/tradeoff_size.log",
    benchmark:
        "results/benchmarks/figures/tradeoff_size.tsv"
    conda:
        "../envs/amrcomp.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../workflow/scripts/figures.py"


rule figure_tradeoff_energy:
    input:
        table="results/table_energy.parquet",
    output:
        **figure_outputs(
            "tradeoff_energy", "tradeoff_energy", "Trade-offs", {"axis": "energy"}
        ),
    log:
        "results/logs/figures/tradeoff_energy.log",
    benchmark:
        "results/benchmarks/figures/tradeoff_energy.tsv"
    conda:
        "../envs/amrcomp.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../workflow/scripts/figures.py"


rule figure_tradeoff_throughput:
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
    conda:
        "../envs/amrcomp.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../workflow/scripts/figures.py"


rule summary:
    input:
        tables=[f"results/{name}.parquet" for name in TABLE_NAMES],
    output:
        markdown="results/summary.md",
        html=report(
            "results/report/summary.html",
            caption="../report/summary.rst",
            category="Summary",
            labels={"file": "summary.html (view of results/summary.md)"},
        ),
    log:
        "results/logs/tables/summary.log",
    benchmark:
        "results/benchmarks/tables/summary.tsv"
    conda:
        "../envs/amrcomp.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../workflow/scripts/summary.py"
