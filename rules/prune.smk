def prune_settings(wildcards):
    """What one pruned variant depends on, and nothing more: adding a sparsity level leaves the
    params of existing variants unchanged, so only the new variant is built."""
    train = config["models"][wildcards.model]["train"]
    method = wildcards.variant.split("-")[0]
    return {
        "finetune": config["prune"]["finetune"],
        "frequency": (
            config["prune"].get("frequency", 100) if method == "magnitude" else None
        ),
        "skip_layers": (config["prune"].get("skip_layers") or {}).get(
            wildcards.model, []
        ),
        "seed": train["seed"],
        "beta_1": train["beta_1"],
        "beta_2": train["beta_2"],
    }


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
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
    params:
        settings=prune_settings,
        data_dir=DATA_DIR,
    script:
        "../workflow/scripts/prune.py"
