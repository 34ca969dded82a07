"""The conda environment files pin exactly what requirements.lock pins (and the gpu extra)."""

import re
import tomllib

import yaml

from conftest import ROOT


def lock_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def env_pins(name: str) -> dict[str, str]:
    env = yaml.safe_load((ROOT / "envs" / name).read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "python=3.11" in env["dependencies"]
    return {p.split("==")[0].lower().replace("_", "-"): p.split("==")[1] for p in pip}


def test_conda_env_matches_lock():
    assert env_pins("amrcomp.yaml") == lock_pins()


def test_gpu_env_is_lock_plus_gpu_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extra = {
        re.split("==", p)[0]: p.split("==")[1] for p in project["optional-dependencies"]["gpu"]
    }
    assert env_pins("gpu.yaml") == {**lock_pins(), **extra}


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
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = lock_pins()
    for requirement in project["dependencies"]:
        name = re.split(r"[<>=!~\[]", requirement)[0].lower()
        assert name in pins, f"{name} is a dependency but not in requirements.lock"
