# QKeras qtools energy estimates (Horowitz 45 nm) of every variant at each energy dtype.


rule energy:
    input:
        model=keras_model,
    output:
        "results/energy/{model}/{variant}-{dtype}.json",
    log:
        "results/logs/energy/{model}/{variant}-{dtype}.log",
    benchmark:
        "results/benchmarks/energy/{model}/{variant}-{dtype}.tsv"
    wildcard_constraints:
        dtype="fp32|fp16|int8",
    conda:
        "../envs/amrcomp.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
    params:
        settings=energy_settings,
    script:
        "../workflow/scripts/energy.py"
