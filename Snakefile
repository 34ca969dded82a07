# AMR model-compression workflow, one rule file per stage: data -> train -> evaluate -> prune ->
# quantize -> qat -> energy -> export -> bench -> tables -> figures -> report.
# Config: config/config.yaml, validated against config/schema.yaml (which fills every default).

import os
import sys

from snakemake.utils import min_version, validate

min_version("9.0")

# The package is imported from this checkout's workflow/, by the rule files and by every job, in
# conda envs too (they hold its dependencies, not the package): a `script:` job's preamble appends
# Snakemake's own sys.path, and on SLURM the job's Snakemake reads this file again. Not
# PYTHONPATH, which Snakemake deletes in conda jobs; not an install into the env (post-deploy
# script), which runs outside the repository and would keep a stale copy when the code changes.
sys.path.insert(0, os.path.join(workflow.basedir, "workflow"))


report: "report/workflow.rst"


configfile: os.path.join(workflow.basedir, "config", "config.yaml")


validate(config, os.path.join(workflow.basedir, "config", "schema.yaml"))


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/prune.smk"
include: "rules/quantize.smk"
include: "rules/qat.smk"
include: "rules/energy.smk"
include: "rules/export.smk"
include: "rules/bench.smk"
include: "rules/tables.smk"
include: "rules/figures.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        all_targets(),
