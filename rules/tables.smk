# Result tables (Tables I-V and energy), figures and summary, registered in the Snakemake report.
# Each rule's inputs are exactly the records its builder reads, so asking for one table builds
# only what that table needs (snakemake results/table5.csv runs no energy or TFLite jobs).

# Only the paper labels are params: the tables must not re-run when an unrelated setting changes
# (their inputs carry everything else). The config's sha256 goes into the table metadata.
PAPER_NAMES = {
    name: {"paper_name": entry.get("paper_name")}
    for name, entry in config["models"].items()
}

if config["tables"]["batch_size"] not in config["deploy"]["batch_sizes"]:
    raise ValueError(
        f"tables.batch_size {config['tables']['batch_size']} is not among deploy.batch_sizes "
        f"{config['deploy']['batch_sizes']}: Table V reports the throughput measured at that batch size; "
        "add it to deploy.batch_sizes or pick one of them"
    )


def table_outputs(name, label):
    """CSV + Parquet + HTML view of one table; the CSV and the view go into the report."""
    return {
        "csv": report(
            f"results/{name}.csv",
            caption=f"../report/{name}.rst",
            category="Tables",
            subcategory=label,
            labels={"file": f"{name}.csv"},
        ),
        "parquet": f"results/{name}.parquet",
        "html": report(
            f"results/report/{name}.html",
            caption=f"../report/{name}.rst",
            category="Tables",
            subcategory=label,
            labels={"file": f"{name}.html (view)"},
        ),
    }


def figure_outputs(stem, caption, subcategory, labels):
    """PNG (in the report) and SVG of one figure."""
    return {
        "png": report(
            f"results/figures/{stem}.png",
            caption=f"../report/{caption}.rst",
            category="Figures",
            subcategory=subcategory,
            labels=labels,
        ),
        "svg": f"results/figures/{stem}.svg",
    }


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
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../workflow/scripts/summary.py"
