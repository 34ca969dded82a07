# Summary of the run (results/summary.md) and its HTML view for the Snakemake report, built
# from the written tables only (workflow/scripts/report.py).


# Light jobs: with a cluster executor they run on the submit host, not as cluster jobs.
localrules:
    summary,


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
        "../workflow/scripts/report.py"
