"""Every artifact the default and the tiny DAG build, path by path and rule by rule.

tests/data/artifacts_{default,tiny}.tsv list `snakemake --summary`'s output file and rule
columns, sorted. A change that adds, drops or moves an artifact fails here until the list is
regenerated on purpose. Files behind a checkpoint are not listed (Snakemake plans them once it
ran): the QAT variants' ONNX copies, whose offer records are (test_bench checks the copies).
    snakemake --summary [--configfile config/tiny.yaml] | tail -n +2 | cut -f1,3 | sort
"""

import pytest

from conftest import ROOT, TINY, snakemake


@pytest.mark.parametrize("name,configs", [("default", ()), ("tiny", (TINY,))])
def test_dag_builds_exactly_the_listed_artifacts(tmp_path, name, configs):
    proc = snakemake(tmp_path, "--summary", configfiles=configs, timeout=600)
    rows = [line.split("\t") for line in proc.stdout.splitlines()[1:] if "\t" in line]
    listed = (ROOT / "tests" / "data" / f"artifacts_{name}.tsv").read_text().splitlines()
    assert sorted(f"{row[0]}\t{row[2]}" for row in rows) == listed
