"""The workflow's shape: lint-clean, formatted, small files, one name per stage, arrows down."""

import ast
import keyword
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SNAKEMAKE

BIN = Path(sys.executable).parent
PACKAGE = ROOT / "workflow" / "amrcomp"
# One name per stage through rules/<stage>.smk, workflow/scripts/<stage>.py, amrcomp/<stage>.
STAGES = (
    "data", "train", "evaluate", "prune", "quantize", "qat", "energy",
    "export", "bench", "tables", "figures", "report",
)  # fmt: skip
LIMITS = {"rules/common.smk": 175, "rules/*.smk": 150, "workflow/scripts/*.py": 50}


def test_snakemake_lint_reports_nothing():
    cmd = [SNAKEMAKE, "--lint", "--snakefile", str(ROOT / "Snakefile")]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    lints = [
        line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("Lints for")
    ]
    assert proc.returncode == 0 and not lints, "\n".join(lints) or proc.stderr[-3000:]


def test_snakefmt_leaves_files_unchanged():
    cmd = [str(BIN / "snakefmt"), "--check", "Snakefile", "rules/"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]])
def test_ruff_leaves_python_unchanged(args):
    """One tool formats and lints all Python (line length and rules in pyproject.toml)."""
    proc = subprocess.run([str(BIN / "ruff"), *args], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_no_dead_code(tmp_path):
    """vulture over the package, the rule scripts and benchmarks (tests do not count as users).
    Names the rule files use count as used: vulture reads Python only, so they are listed for it
    in a generated file; tests/vulture_allowlist.py names what libraries call or read."""
    smk = [ROOT / "Snakefile", *sorted((ROOT / "rules").glob("*.smk"))]
    words = {n for p in smk for n in re.findall(r"[A-Za-z_]\w*", p.read_text())}
    names = sorted(n for n in words if not keyword.iskeyword(n))
    (tmp_path / "rule_files.py").write_text("\n".join(f"{n}  # noqa" for n in names) + "\n")
    paths = [
        "workflow",
        "benchmarks",
        "tests/vulture_allowlist.py",
        str(tmp_path / "rule_files.py"),
    ]
    cmd = [
        str(BIN / "vulture"),
        *paths,
        "--min-confidence",
        "60",
        "--ignore-decorators",
        "@register",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


@pytest.mark.parametrize("pattern,limit", LIMITS.items())
def test_files_stay_small_enough_to_read_in_one_sitting(pattern, limit):
    own = {p for p in LIMITS if p != pattern and "*" not in p}  # files with a limit of their own
    files = [p for p in ROOT.glob(pattern) if str(p.relative_to(ROOT)) not in own]
    long = {p.name: n for p in files if (n := len(p.read_text().splitlines())) > limit}
    assert not long, f"over {limit} lines: {long}"


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_is_one_name_through_the_three_layers(stage):
    assert (ROOT / "rules" / f"{stage}.smk").is_file()
    assert (ROOT / "workflow" / "scripts" / f"{stage}.py").is_file()
    assert (PACKAGE / f"{stage}.py").is_file() or (PACKAGE / stage / "__init__.py").is_file()


def test_every_rule_file_is_included_and_every_script_belongs_to_a_stage():
    snakefile = (ROOT / "Snakefile").read_text()
    rule_files = {p.stem for p in (ROOT / "rules").glob("*.smk")} - {"common"}
    assert rule_files == set(STAGES)
    assert all(f'include: "rules/{name}.smk"' in snakefile for name in rule_files)
    assert {p.stem for p in (ROOT / "workflow" / "scripts").glob("*.py")} == set(STAGES)


def _imports() -> dict[str, set[str]]:
    """amrcomp module -> the amrcomp modules it imports (at any depth of its code)."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        graph[name] = list(ast.walk(ast.parse(path.read_text())))
    deps = {}
    for name, nodes in graph.items():
        found = set()
        for node in nodes:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("amrcomp"):
                # `from amrcomp.data import audio` imports the module audio, not data's contents
                subs = {f"{node.module}.{a.name}" for a in node.names} & graph.keys()
                found |= subs or {node.module}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("amrcomp")}
        deps[name] = {m for m in found if m in graph and m != name}
    return deps


def _stage(module: str) -> str | None:
    top = module.split(".")[1] if "." in module else None
    return top if top in STAGES else None


def test_no_stage_imports_another_stage():
    """Arrows point down: scripts -> stages -> ground floor; a stage never reaches sideways."""
    sideways = [
        f"{name} -> {dep}"
        for name, deps in _imports().items()
        for dep in deps
        if _stage(name) and _stage(dep) and _stage(dep) != _stage(name)
    ]
    ground_up = [
        f"{name} -> {dep}"
        for name, deps in _imports().items()
        for dep in deps
        if not _stage(name) and _stage(dep)
    ]
    assert not sideways and not ground_up, sideways + ground_up


def test_no_import_circles():
    graph = _imports()

    def reach(start: str) -> set[str]:
        seen, todo = set(), list(graph[start])
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo.extend(graph.get(node, ()))
        return seen

    circles = sorted(name for name in graph if name in reach(name))
    assert not circles, f"modules that import themselves through others: {circles}"
