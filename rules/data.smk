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


rule data_preview:
    input:
        test=split_files("test"),
        manifest=DATA_MANIFEST,
    output:
        directory("results/figures/data"),
    params:
        data_dir=DATA_DIR,
        snrs=[-10, 0, 18],
    log:
        f"results/logs/data/{config['dataset']['name']}-preview.log",
    benchmark:
        f"results/benchmarks/data/{config['dataset']['name']}-preview.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../workflow/scripts/data_preview.py"
