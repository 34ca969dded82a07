"""The workflow passes `snakemake --lint` and is formatted with snakefmt."""

import subprocess
import sys
from pathlib import Path

from conftest import ROOT, SNAKEMAKE


def test_snakemake_lint_reports_nothing():
    proc = subprocess.run([SNAKEMAKE, "--lint", "--snakefile", str(ROOT / "Snakefile")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    lints = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("Lints for")]
    assert proc.returncode == 0 and not lints, "\n".join(lints) or proc.stderr[-3000:]


def test_snakefmt_leaves_files_unchanged():
    snakefmt = str(Path(sys.executable).with_name("snakefmt"))
    proc = subprocess.run([snakefmt, "--check", "Snakefile", "rules/"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
