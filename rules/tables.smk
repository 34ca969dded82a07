# Result tables: one rule per table, all through workflow/scripts/tables.py, which looks the
# rule's builder up by rule name. The rules differ only in inputs, outputs and (table5) params.


# Light jobs: with a cluster executor they run on the submit host, not as cluster jobs.
localrules:
    table1,
    table2,
    table3,
    table4,
    table5,
    table_energy,
    front,


rule table1:
    input:
        evals=BASELINE_EVALS,
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
        **table_params(config),
    script:
        "../workflow/scripts/tables.py"


use rule table1 as table2 with:
    input:
        train=TRAINING_SUMMARIES,
        manifest=DATA_MANIFEST,
    output:
        **table_outputs("table2", "Table II"),
    log:
        "results/logs/tables/table2.log",
    benchmark:
        "results/benchmarks/tables/table2.tsv"


use rule table1 as table3 with:
    input:
        evals=KERAS_EVALS,
        prune=PRUNE_SUMMARIES,
        manifest=DATA_MANIFEST,
    output:
        **table_outputs("table3", "Table III"),
    log:
        "results/logs/tables/table3.log",
    benchmark:
        "results/benchmarks/tables/table3.tsv"


use rule table1 as table4 with:
    input:
        tflite=TABLE4_TFLITE_EVALS,
        evals=TABLE4_KERAS_EVALS,
        manifest=DATA_MANIFEST,
    output:
        **table_outputs("table4", "Table IV"),
    log:
        "results/logs/tables/table4.log",
    benchmark:
        "results/benchmarks/tables/table4.tsv"


use rule table1 as table5 with:
    input:
        bench=BENCHMARKS,
        evals=TABLE5_KERAS_EVALS,
        prune=TABLE5_PRUNE_SUMMARIES,
        manifest=DATA_MANIFEST,
    output:
        **table_outputs("table5", "Table V"),
    log:
        "results/logs/tables/table5.log",
    benchmark:
        "results/benchmarks/tables/table5.tsv"
    params:
        **table_params(config),
        batch_size=table5_batch_size(config),


# The per-layer table comes from the same records: its outputs are the layers_* ones.
use rule table1 as table_energy with:
    input:
        energy=ENERGY_ESTIMATES,
        evals=KERAS_EVALS,
        tflite=ENERGY_TFLITE_EVALS,
        manifest=DATA_MANIFEST,
    output:
        **table_outputs("table_energy", "Energy"),
        **{
            f"layers_{kind}": path
            for kind, path in table_outputs("table_energy_layers", "Energy per layer").items()
        },
    log:
        "results/logs/tables/table_energy.log",
    benchmark:
        "results/benchmarks/tables/table_energy.tsv"


# Every variant and deployed form on the accuracy-cost axes (the QAT variants' summaries are
# inputs: a re-trained QAT variant rebuilds it).
use rule table1 as front with:
    input:
        **FRONT_INPUTS,
        manifest=DATA_MANIFEST,
    output:
        **table_outputs("front", "Front"),
    log:
        "results/logs/tables/front.log",
    benchmark:
        "results/benchmarks/tables/front.tsv"
    params:
        **table_params(config),
        front_controls=front_controls(config),
        batch_size=table5_batch_size(config),
