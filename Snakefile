# AMR model-compression workflow: data -> train -> prune -> quantise -> energy -> deploy -> tables.
# Config: config/config.yaml (validated against config/schema.yaml); see README.md.

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "config/schema.yaml")


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"


rule all:
    input:
        all_targets(),
    default_target: True
