rule data:
    output:
        DATA_FILES,
    params:
        dataset=config["dataset"],
        out_dir=DATA_DIR,
    log:
        f"results/logs/data/{config['dataset']['name']}.log",
    benchmark:
        f"results/benchmarks/data/{config['dataset']['name']}.tsv"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    script:
        "../workflow/scripts/data.py"
