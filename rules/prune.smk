rule prune:
    input:
        model="results/models/{model}/baseline.keras",
        train=split_files("train"),
        val=split_files("val"),
        manifest=DATA_MANIFEST,
        arch=arch_module,
    output:
        model="results/models/{model}/pruned-{variant}.keras",
        history="results/models/{model}/pruned-{variant}.history.csv",
        summary="results/models/{model}/pruned-{variant}.json",
    log:
        "results/logs/prune/{model}/{variant}.log",
    benchmark:
        "results/benchmarks/prune/{model}/{variant}.tsv"
    wildcard_constraints:
        variant=variants.PRUNED_PATTERN,
    conda:
        "../envs/amrcomp.yaml"
    # The same threads as profiles/slurm: TensorFlow's float sums depend on the thread count.
    # (One thread each, two variants at a time, did not shorten the DAG: 36.5 min vs 34.8.)
    threads: 2
    resources:
        mem_mb=8000,
        runtime=walltime.finetune_runtime(config),  # minutes, from measured throughput
    params:
        settings=lambda wc: prune_settings(config, wc.model, wc.variant),
        data_dir=data_dir_of_inputs,
    script:
        "../workflow/scripts/prune.py"


# The dense controls: the baseline through exactly one method's fine-tune (same frames, steps,
# learning rate, seed, input scale, precision, distillation), nothing pruned. A variant's drop
# against its control measures pruning, not the extra training of a baseline still improving.
use rule prune as control with:
    output:
        model="results/models/{model}/{variant}.keras",
        history="results/models/{model}/{variant}.history.csv",
        summary="results/models/{model}/{variant}.json",
    log:
        "results/logs/prune/{model}/{variant}.log",
    benchmark:
        "results/benchmarks/prune/{model}/{variant}.tsv"
    wildcard_constraints:
        variant=variants.CONTROL_PATTERN,
