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
        variant=r"(magnitude|m_by_n|filters)-\d+",
    conda:
        "../envs/amrcomp.yaml"
    # tfmot's wrapped fine-tune used 0.7-0.8 of a core when given two, so two variants share the
    # cores; the whole-DAG time did not improve (34.8 min on two threads, 36.5 on one).
    threads: 1
    resources:
        mem_mb=8000,
        runtime=120,
    params:
        settings=prune_settings,
        data_dir=data_dir_of_inputs,
    script:
        "../workflow/scripts/prune.py"
