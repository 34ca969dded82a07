"""Two configurations keep their results side by side: one working directory each."""

import subprocess

import pytest
import yaml

from conftest import ROOT, TINY, snakemake


def make_dry(*args: str) -> str:
    """The Snakemake command `make` would run (also when the tests themselves run under make)."""
    cmd = ["make", "--no-print-directory", "-n", *args]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return next(line for line in proc.stdout.splitlines() if "snakemake --snakefile" in line)


def test_make_gives_each_config_its_own_directory():
    assert "--directory . " in make_dry("run") and "--configfile" not in make_dry("run")
    tiny = make_dry("run", "CONFIG=config/tiny.yaml", "ARGS=results/table5.csv")
    assert "--directory runs/tiny " in tiny and f"--configfile {TINY}" in tiny
    assert "results/table5.csv" in tiny
    assert "--directory /tmp/x " in make_dry("dry-run", "CONFIG=config/tiny.yaml", "WORKDIR=/tmp/x")


@pytest.mark.e2e
def test_a_second_configuration_leaves_the_first_runs_results_alone(tiny_copy, tmp_path):
    """A second configuration trained in its own directory neither rebuilds nor touches the
    first run's finished DAG, and each directory holds its own configuration's tables."""
    before = {p: p.stat().st_mtime_ns for p in (tiny_copy / "results").rglob("*") if p.is_file()}
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({"models": {"model2": {"train": {"epochs": 2}}}}))
    second = tmp_path / "second"
    snakemake(second, "results/table2.csv", configfiles=(TINY, other))
    after = {p: p.stat().st_mtime_ns for p in (tiny_copy / "results").rglob("*") if p.is_file()}
    assert after == before
    proc = snakemake(tiny_copy, "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr
    first_epochs = (tiny_copy / "results" / "table2.csv").read_text()
    second_epochs = (second / "results" / "table2.csv").read_text()
    assert first_epochs != second_epochs
