"""Partial re-runs: on a completed tiny run, each kind of change plans exactly the jobs it affects.

Every check is a dry run (`snakemake -n`) of a private copy of the run with an extra --configfile,
so the expected job set comes from Snakemake's own rerun triggers (params, input, mtime, code).
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, TINY, snakemake  # noqa: E402

pytestmark = pytest.mark.e2e

UPSTREAM = "Input files updated by another job"
AGGREGATORS = re.compile(r"^(table\w*|figure_\w+|summary|front)$")  # read many models' results


@dataclass(frozen=True)
class Job:
    rule: str
    wildcards: dict
    reason: str

    @property
    def own_reasons(self) -> list[str]:
        """Why this job runs, leaving out 'an input will be rebuilt' (inherited from upstream)."""
        return [r for r in self.reason.split("; ") if r and not r.startswith(UPSTREAM)]


def planned(output: str) -> list[Job]:
    """The jobs a dry run plans (`rule NAME:` blocks), without the target rule `all`."""
    jobs = []
    for match in re.finditer(r"^(?:local)?rule (\w+):\n((?:[ \t]+.*\n?)*)", output, re.M):
        fields = dict(re.findall(r"^\s+(\w+): (.*)$", match[2], re.M))
        wildcards = dict(
            item.split("=", 1) for item in fields.get("wildcards", "").split(", ") if "=" in item
        )
        if match[1] != "all":
            jobs.append(Job(match[1], wildcards, fields.get("reason", "")))
    return jobs


def dry_run(
    workdir: Path,
    *args: str,
    override: dict | None = None,
    tmp: Path | None = None,
    snakefile: Path | None = None,
) -> tuple[list[Job], str]:
    configfiles: tuple = (TINY,)
    if override is not None:
        path = tmp / "override.yaml"
        path.write_text(yaml.safe_dump(override))
        configfiles = (TINY, path)
    extra = ("--snakefile", str(snakefile)) if snakefile else ()
    proc = snakemake(workdir, "-n", *extra, *args, configfiles=configfiles)
    output = proc.stdout + proc.stderr
    return planned(output), output


def describe(jobs: list[Job]) -> str:
    return "\n".join(f"  {j.rule} {j.wildcards} ({j.reason})" for j in jobs)


def test_unchanged_run_plans_nothing(tiny_copy):
    jobs, output = dry_run(tiny_copy)
    assert not jobs, describe(jobs)
    assert "Nothing to be done" in output


@pytest.mark.parametrize("changed, other", [("model2", "model1"), ("model1", "model2")])
def test_training_settings_rerun_only_that_models_chain(tiny_copy, tmp_path, changed, other):
    epochs = yaml.safe_load(TINY.read_text())["models"][changed]["train"]["epochs"] + 1
    jobs, _ = dry_run(
        tiny_copy, override={"models": {changed: {"train": {"epochs": epochs}}}}, tmp=tmp_path
    )
    assert any(j.rule == "train" and j.wildcards == {"model": changed} for j in jobs), describe(
        jobs
    )
    assert not [j for j in jobs if j.wildcards.get("model") == other], (
        f"{other} jobs planned:\n{describe(jobs)}"
    )
    assert not [j for j in jobs if j.rule == "data"], describe(jobs)
    # every job of the changed model's chain is planned: its training and everything built from it
    built = {j.wildcards.get("variant") for j in jobs if j.rule == "evaluate_keras"}
    assert built == set(variants_of(tiny_copy, changed)), describe(jobs)


def variants_of(workdir: Path, model: str) -> list[str]:
    """Variants the completed run evaluated for `model` (from results/eval/{model}/*-fp32.json)."""
    return sorted(
        p.name.removesuffix("-fp32.json")
        for p in (workdir / "results/eval" / model).glob("*-fp32.json")
    )


@pytest.fixture()
def source_copy(tmp_path) -> Path:
    """The workflow's sources copied with their mtimes, so a test can edit a module without
    touching the repository (other runs may be using it)."""
    dest = tmp_path / "src"
    dest.mkdir()
    for name in ("Snakefile", "rules", "workflow", "config", "report", "profiles"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(
                src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
            )
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest


def test_architecture_edit_reruns_only_that_models_chain(tiny_copy, tmp_path, source_copy):
    """Editing model1's architecture module makes its file newer than model1's artifacts: only
    model1's chain re-runs. Judged by modification times alone (`--rerun-triggers mtime`), because
    the copy's module paths differ from the recorded ones, which the `input` trigger would flag."""
    from amrcomp.models import module_path
    from amrcomp.settings import load_config

    snakefile = source_copy / "Snakefile"
    mtime_only = ("--rerun-triggers", "mtime")
    jobs, output = dry_run(tiny_copy, *mtime_only, snakefile=snakefile)
    assert not jobs and "Nothing to be done" in output, (
        f"the source copy alone re-runs jobs:\n{describe(jobs)}"
    )

    config = load_config(TINY)
    arch = config["models"]["model1"]["arch"]
    module = source_copy / "workflow" / Path(module_path(arch)).relative_to(ROOT / "workflow")
    assert config["models"]["model2"]["arch"] != arch, (
        "both models share an architecture: the test needs two"
    )
    module.write_text(module.read_text() + "\n# edited by test_reruns\n")
    future = module.stat().st_mtime + 60
    os.utime(module, (future, future))

    jobs, _ = dry_run(tiny_copy, *mtime_only, snakefile=snakefile)
    trains = [j for j in jobs if j.rule == "train"]
    assert [j.wildcards for j in trains] == [{"model": "model1"}], describe(jobs)
    assert str(module) in trains[0].reason, f"model1 re-runs for another reason: {trains[0].reason}"
    assert not [j for j in jobs if j.wildcards.get("model") == "model2"], (
        f"model2 jobs planned:\n{describe(jobs)}"
    )
    assert not [j for j in jobs if j.rule == "data"]


def test_new_sparsity_builds_only_the_new_variants(tiny_copy, tmp_path):
    from amrcomp.settings import load_config, pruned_of

    tiny = yaml.safe_load(TINY.read_text())
    old = tiny["prune"]["sparsities"]
    added = next(s for s in (25, 75, 90, 10) if s not in old)
    override = {"prune": {"sparsities": [*old, added]}}
    jobs, _ = dry_run(tiny_copy, override=override, tmp=tmp_path)
    # Methods at `sparsities` gain the level; a model's own levels (method_sparsities) stay.
    before, after = load_config(TINY), load_config(TINY, tmp_path / "override.yaml")
    new_pairs = {(m, v) for m in after["models"] for v in pruned_of(after, m)}
    new_pairs -= {(m, v) for m in before["models"] for v in pruned_of(before, m)}
    new_variants = {v for _, v in new_pairs}
    assert new_variants == {f"magnitude-{added}"}

    stale = [j for j in jobs if j.wildcards.get("variant") not in (None, *new_variants)]
    assert not stale, f"jobs of existing variants planned:\n{describe(stale)}"
    others = [j for j in jobs if "variant" not in j.wildcards and not AGGREGATORS.match(j.rule)]
    assert not others, f"non-aggregating jobs without a new variant planned:\n{describe(others)}"
    pruned = {(j.wildcards["model"], j.wildcards["variant"]) for j in jobs if j.rule == "prune"}
    assert pruned == new_pairs, describe(jobs)
    evaluated = {
        (j.wildcards["model"], j.wildcards["variant"]) for j in jobs if j.rule == "evaluate_keras"
    }
    assert evaluated == pruned
    if (tiny_copy / "results/table3.csv").exists():
        assert "table3" in {j.rule for j in jobs}, "Table III is not re-aggregated"


def test_benchmark_setting_reruns_only_benchmarks(tiny_copy, tmp_path):
    """deploy.repeats changes how benchmarks time, nothing else: the benchmarks are the only jobs
    re-run for a reason of their own; the rest (Table V and what reads it) only because a
    benchmark result will change."""
    repeats = yaml.safe_load(TINY.read_text())["deploy"]["repeats"] + 1
    jobs, _ = dry_run(tiny_copy, override={"deploy": {"repeats": repeats}}, tmp=tmp_path)
    bench = sorted(
        str(p.relative_to(tiny_copy / "results/bench"))
        for p in (tiny_copy / "results/bench").rglob("*.json")
    )
    assert bench, "the tiny run has no benchmarks"
    planned_bench = sorted(
        f"{j.wildcards['backend']}/{j.wildcards['model']}/{j.wildcards['variant']}-{j.wildcards['dtype']}.json"
        for j in jobs
        if j.rule == "benchmark"
    )
    assert planned_bench == bench
    own = [j for j in jobs if j.rule != "benchmark" and j.own_reasons]
    assert not own, f"jobs re-run although no input of theirs changes:\n{describe(own)}"
    if (tiny_copy / "results/table5.csv").exists():
        assert "table5" in {j.rule for j in jobs}, "Table V is not rebuilt from the new benchmarks"


def test_model_finetune_override_reruns_only_that_models_pruned_variants(tiny_copy, tmp_path):
    """models.<name>.finetune overrides prune.finetune for that model alone: its pruned variants,
    controls and quantisation-aware variants (and what is built from them) re-run; its baseline
    and the other model stay.
    (batch_size: no method_finetune layer sets it, so every method's recipe changes.)"""
    batch = yaml.safe_load(TINY.read_text())["prune"]["finetune"]["batch_size"] // 2
    jobs, _ = dry_run(
        tiny_copy,
        override={"models": {"model1": {"finetune": {"batch_size": batch}}}},
        tmp=tmp_path,
    )
    # The quantisation-aware variants follow magnitude's recipe: they re-train too.
    tuned = {
        j.wildcards["variant"] for j in jobs if j.rule in ("prune", "control", "qat", "qkeras")
    }
    qat = set(yaml.safe_load(TINY.read_text())["qat"]["variants"])
    assert (
        tuned and tuned == {v for v in variants_of(tiny_copy, "model1") if v != "baseline"} | qat
    ), describe(jobs)
    assert not [j for j in jobs if j.wildcards.get("model") == "model2"], describe(jobs)
    assert not [j for j in jobs if j.rule in ("data", "train")], describe(jobs)


def test_int8_calibration_reconverts_only_int8_onnx_files(tiny_copy, tmp_path):
    """deploy.calibration shapes the int8 ONNX file alone: the fp16 conversions (and the LiteRT
    benchmarks that measure against them) stay; only int8 files and their readers re-run."""
    calibration = yaml.safe_load(TINY.read_text())["deploy"]["calibration"]
    override = {"deploy": {"calibration": {**calibration, "frames": calibration["frames"] * 2}}}
    jobs, _ = dry_run(tiny_copy, override=override, tmp=tmp_path)
    converted = {j.wildcards["dtype"] for j in jobs if j.rule == "convert_onnx"}
    assert converted == {"int8"}, describe(jobs)
    bench = [j.wildcards for j in jobs if j.rule == "benchmark"]
    benched = {(w["backend"], w["dtype"]) for w in bench}
    assert benched and {dtype for _, dtype in benched} == {"int8"}, describe(jobs)
    assert "litert" not in {backend for backend, _ in benched}, describe(jobs)
