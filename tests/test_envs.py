"""The conda environments (envs/*.yaml) as Snakemake uses them, and the lock and extras they follow.

Conda channels cannot be reached from the development machines, so the environments are
checked statically here and never created: they are what envs/pin.py writes (runtime
dependencies at requirements.lock's versions, no Snakemake, no test tools), they provide every
module the package and the rule scripts import, and a job's Python finds the package the way a
conda job does, without it being installed.
"""

import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
from importlib.metadata import packages_distributions, requires

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from conftest import ROOT

TOOLS = {"pytest", "ruff", "black", "snakefmt", "vulture", "shfmt-py", "snakemake"}
# Modules only the `gpu` extra provides (not installed by make, so unknown to this venv's metadata).
GPU_MODULES = {"tensorrt": "tensorrt-cu12", "cuda": "cuda-python"}
# Run by `python -S` with make's site-packages on PYTHONPATH (no .pth, so no editable install):
# Snakemake reads the Snakefile as for any run, then prints the search path it gives a job's
# script preamble (snakemake/script/__init__.py).
SEARCH_PATH_PROBE = """
import atexit, json, sys
from snakemake.cli import main
from snakemake.common import get_snakemake_searchpaths
atexit.register(lambda: print("SEARCHPATH=" + json.dumps(get_snakemake_searchpaths())))
sys.argv = ["snakemake", "--snakefile", sys.argv[1], "--list-rules"]
main()
"""


def load_pin():
    """envs/pin.py as a module (envs/ is no package)."""
    spec = importlib.util.spec_from_file_location("pin", ROOT / "envs" / "pin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def lock_pins() -> dict[str, str]:
    """Canonical name -> version in requirements.lock."""
    lines = load_pin().lock_pins((ROOT / "requirements.lock").read_text())
    return {name: line.split("==")[1] for name, line in lines.items()}


def env_pins(name: str) -> dict[str, str]:
    """Canonical name -> version of an environment's pip entries (all `==` pins)."""
    env = yaml.safe_load((ROOT / "envs" / name).read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "python=3.11" in env["dependencies"]
    return {canonicalize_name(p.split("==")[0]): p.split("==")[1] for p in pip}


def gpu_pins() -> dict[str, str]:
    """pyproject.toml's `gpu` extra: exact pins only."""
    pins = [Requirement(r) for r in project()["optional-dependencies"]["gpu"]]
    assert all(str(r.specifier).startswith("==") and not r.marker for r in pins)
    return {canonicalize_name(r.name): str(r.specifier)[2:] for r in pins}


def third_party_imports() -> set[str]:
    """Top-level modules imported anywhere in the package and the rule scripts, minus the
    standard library, the package itself and snakemake (which Snakemake's preamble provides)."""
    paths = [
        *(ROOT / "workflow" / "amrcomp").rglob("*.py"),
        *(ROOT / "workflow/scripts").glob("*.py"),
    ]
    found = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"amrcomp", "snakemake", "__future__"}


def test_env_files_are_what_pin_py_writes():
    """Hand edits drift from the lock; the generator is the one source."""
    for file, text in load_pin().environments().items():
        assert (ROOT / "envs" / file).read_text() == text, (
            f"run .venv/bin/python envs/pin.py ({file})"
        )


def test_envs_hold_neither_snakemake_nor_test_tools_nor_the_package():
    """Snakemake runs the jobs from its own installation; tools are for developers; the package
    is imported from the checkout, so an env never holds a stale copy."""
    for file in ("amrcomp.yaml", "gpu.yaml"):
        names = env_pins(file).keys()
        assert not names & TOOLS and not any(n.startswith("snakemake") for n in names), file
        assert "amrcomp" not in names, "the package comes from the repository, not the env"


def test_lock_pins_every_runtime_dependency_at_the_envs_versions():
    """A conda job runs the versions make's .venv runs (pip and wheel aside, which
    `pip freeze` omits)."""
    pin, lock = load_pin(), lock_pins()
    runtime = pin.closure(Requirement(r) for r in project()["dependencies"])
    assert runtime - lock.keys() <= pin.UNFROZEN, runtime - lock.keys()
    env = env_pins("amrcomp.yaml")
    assert env.keys() == runtime & lock.keys()
    assert {name: lock[name] for name in env} == env


def test_gpu_env_is_runtime_env_plus_gpu_extra():
    assert env_pins("gpu.yaml") == {**env_pins("amrcomp.yaml"), **gpu_pins()}
    assert not env_pins("amrcomp.yaml").keys() & gpu_pins().keys()


def test_every_module_the_code_imports_is_in_its_env():
    """A job fails on the first import its env lacks; GPU-only modules are in gpu.yaml."""
    installed = packages_distributions()
    env, gpu_env = env_pins("amrcomp.yaml"), env_pins("gpu.yaml")
    for module in sorted(third_party_imports()):
        if module in GPU_MODULES:
            assert canonicalize_name(GPU_MODULES[module]) in gpu_env, module
            continue
        assert module in installed, f"{module}: no installed distribution provides it"
        assert {canonicalize_name(d) for d in installed[module]} & env.keys(), module


def test_gpu_extra_pins_tensorflows_cuda_build():
    """The nvidia-* wheels of tensorflow[and-cuda] at versions TensorFlow accepts: without them
    TensorFlow finds no CUDA and trains on the CPU of a GPU node."""
    cuda = {}
    for line in requires("tensorflow"):
        req = Requirement(line)
        if req.marker and req.marker.evaluate({"extra": "and-cuda"}):
            cuda[canonicalize_name(req.name)] = req.specifier
    gpu = {n: v for n, v in gpu_pins().items() if n.startswith("nvidia-")}
    assert gpu.keys() == cuda.keys()
    assert all(Version(gpu[n]) in cuda[n] for n in cuda), gpu


def test_jobs_import_the_package_from_the_repository(tmp_path):
    """What makes `import amrcomp` work in a conda job: the search path Snakemake gives a script
    job once it has read the Snakefile. A Python that does not have the package installed
    (`-S`: no site-packages, so no editable install) imports it from workflow/ with that path,
    and fails without it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    site = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    snakemake = [sys.executable, "-S", "-c", SEARCH_PATH_PROBE, str(ROOT / "Snakefile")]
    env_with_site = {**env, "PYTHONPATH": os.pathsep.join(site)}
    proc = subprocess.run(
        snakemake, cwd=tmp_path, env=env_with_site, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    paths = json.loads(re.search(r"^SEARCHPATH=(.*)$", proc.stdout, re.M).group(1))

    def job(search_path: list[str]) -> subprocess.CompletedProcess:
        code = f"import sys; sys.path.extend({search_path!r}); import amrcomp, amrcomp.settings; "
        code += "print(amrcomp.__file__)"
        cmd = [sys.executable, "-S", "-c", code]
        return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True)

    imported = job(paths)
    assert imported.returncode == 0, imported.stderr[-3000:]
    assert imported.stdout.strip() == str(ROOT / "workflow" / "amrcomp" / "__init__.py")
    assert "No module named 'amrcomp'" in job(site).stderr


def test_lock_pins_the_versions_the_paper_stack_needs():
    pins = lock_pins()
    assert pins["tensorflow"].startswith("2.21.") and pins["tf-keras"].startswith("2.21.")
    assert pins["tensorflow-model-optimization"] == "0.8.1"
    assert pins["qkeras"] == "0.9.0"
    assert pins["snakemake"].startswith("9.")
    for name in (
        "tf2onnx",
        "onnx",
        "onnxruntime",
        "ai-edge-litert",
        "openvino",
        "pandas",
        "numpy",
        "pyarrow",
        "pyparsing",
    ):
        assert name in pins, name


def test_pyproject_ranges_admit_the_locked_versions():
    pins = lock_pins()
    for requirement in project()["dependencies"]:
        name = re.split(r"[<>=!~\[]", requirement)[0].lower()
        assert name in pins, f"{name} is a dependency but not in requirements.lock"
