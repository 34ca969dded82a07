rule data:
    input:
        # a real data file is an input: replacing it rebuilds the splits (and all after them)
        source=[] if config["dataset"]["source"] == "synthetic" else config["dataset"]["path"],
    output:
        DATA_FILES,
    log:
        f"results/logs/data/{config['dataset']['name']}.log",
    benchmark:
        f"results/benchmarks/data/{config['dataset']['name']}.tsv"
    conda:
        "../envs/amrcomp.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        dataset=config["dataset"],
        out_dir=lambda wildcards, output: os.path.dirname(output[0]),
    script:
        "../workflow/scripts/data.py"


# Light jobs: with a cluster executor they run on the submit host, not as cluster jobs.
localrules:
    data_preview,


rule data_preview:
    input:
        test=split_files("test"),
        manifest=DATA_MANIFEST,
    output:
        directory("results/figures/data"),
    log:
        f"results/logs/data/{config['dataset']['name']}-preview.log",
    benchmark:
        f"results/benchmarks/data/{config['dataset']['name']}-preview.tsv"
    conda:
        "../envs/amrcomp.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        data_dir=data_dir_of_inputs,
        snrs=[-10, 0, 18],
    script:
        "../workflow/scripts/data.py"
