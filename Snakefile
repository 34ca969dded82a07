# AMR model-compression workflow: data -> train -> prune -> quantise -> energy -> deploy -> tables.
# Config: config/config.yaml (validated against config/schema.yaml); see README.md.

import os

from snakemake.utils import min_version, validate

min_version("9.0")


report: "report/workflow.rst"


configfile: os.path.join(workflow.basedir, "config", "config.yaml")


validate(config, os.path.join(workflow.basedir, "config", "schema.yaml"))


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/prune.smk"
include: "rules/quantize.smk"
include: "rules/energy.smk"
include: "rules/deploy.smk"
include: "rules/tables.smk"


rule all:
    default_target: True
    input:
        all_targets(),
