# QKeras qtools energy estimates (Horowitz 45 nm) of every variant at each energy dtype.


# One job estimates a variant at every dtype: starting TensorFlow and QKeras takes about 4 s, an
# estimate 0.02 s. Every dtype's JSON is still its own target.
rule energy:
    input:
        model=keras_model,
    output:
        expand("results/energy/{{model}}/{{variant}}-{dtype}.json", dtype=ENERGY_DTYPES),
    log:
        "results/logs/energy/{model}/{variant}.log",
    benchmark:
        "results/benchmarks/energy/{model}/{variant}.tsv"
    conda:
        "../envs/amrcomp.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
    params:
        dtypes=ENERGY_DTYPES,
        settings=energy_settings(config),
    script:
        "../workflow/scripts/energy.py"


# A QKeras model at its own bit widths (for_reference=False): energy, bit operations, size.
use rule energy as energy_lowbit with:
    input:
        model="results/models/{model}/{variant}.keras",
    output:
        "results/energy/{model}/{variant}-lowbit.json",
    wildcard_constraints:
        variant=variants.QKERAS_PATTERN,
    params:
        dtypes=[],
        settings=memory_model(config),
