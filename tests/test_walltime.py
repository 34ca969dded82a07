"""Cluster wall-time requests from measured throughput (amrcomp.walltime)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from amrcomp import walltime
from amrcomp.data import importers, synthetic
from amrcomp.settings import ConfigError, check_config, load_config
from conftest import ROOT, TINY

PAPER = ROOT / "config" / "paper.yaml"


def test_frame_counts_follow_each_source():
    grid = {"classes": None, "snrs": None, "frames_per_block": 1000}
    blocks = len(synthetic.CLASSES) * len(synthetic.SNRS)
    assert walltime.dataset_frames({**grid, "source": "synthetic"}) == blocks * 1000 == 220_000
    assert walltime.dataset_frames({**grid, "source": "rml2016.10a"}) == 220_000
    ten_b = len(importers.RML2016_CLASSES["rml2016.10b"]) * 20 * 6000
    assert walltime.dataset_frames({**grid, "source": "rml2016.10b"}) == ten_b == 1_200_000
    full_2018 = {**grid, "source": "rml2018.01a", "frames_per_block": None}
    assert walltime.dataset_frames(full_2018) == len(importers.RML2018_CLASSES) * 26 * 4096
    assert walltime.dataset_frames({**grid, "source": "rml2018.01a"}) == 24 * 26 * 1000
    subset = {**grid, "source": "synthetic", "classes": ["BPSK", "QPSK"], "snrs": [0, 10]}
    assert walltime.dataset_frames(subset) == 4000


def test_minutes_scale_with_work_margin_and_attempt():
    cluster = {"margin": 2.0, "overhead_minutes": 10}
    assert walltime.minutes(60_000, 1000, cluster, 1) == 12  # 60 s x 2 = 2 min + 10
    assert walltime.minutes(60_000, 1000, cluster, 2) == 24  # a retry asks for twice that
    assert walltime.minutes(60_001, 1000, cluster, 1) == 13  # rounded up, never down


def runtimes(config: dict) -> dict[str, int]:
    train, finetune = walltime.train_runtime(config), walltime.finetune_runtime(config)
    out = {}
    for model in config["models"]:
        out[f"{model}/train"] = train(SimpleNamespace(model=model))
        out[f"{model}/control"] = finetune(SimpleNamespace(model=model, variant="control-filters"))
        out[f"{model}/pruned"] = finetune(SimpleNamespace(model=model, variant="magnitude-50"))
    return out


def test_paper_scale_jobs_ask_for_more_time_than_tiny_ones():
    tiny, paper = runtimes(load_config(TINY)), runtimes(load_config(PAPER))
    for job in tiny:
        assert paper[job] > tiny[job], (job, tiny[job], paper[job])
    # 110 epochs x 132k training frames at the default 1000 frames/s, margin 2, +10 min
    assert paper["model2/train"] == 10 + -(-110 * 132_000 * 2 // (1000 * 60)) == 494


def test_faster_measured_throughput_shortens_the_request():
    config = load_config(PAPER)
    slow = runtimes(config)["model1/train"]
    config["cluster"]["samples_per_second"]["oshea_cnn2"] *= 10
    assert runtimes(config)["model1/train"] < slow


def test_an_architecture_without_throughput_takes_the_default_or_is_refused():
    config = load_config(PAPER)
    del config["cluster"]["samples_per_second"]["tekbiyik"]
    check_config(config)  # a new architecture module needs no entry of its own
    config["cluster"]["samples_per_second"]["default"] = 250.0
    slower = runtimes(config)["model2/train"]
    config["cluster"]["samples_per_second"]["default"] = 2500.0
    assert runtimes(config)["model2/train"] < slower
    del config["cluster"]["samples_per_second"]["default"]
    with pytest.raises(ConfigError, match=r"cluster\.samples_per_second\.tekbiyik.*default"):
        check_config(config)


def test_a_quantisation_aware_fine_tune_asks_for_its_controls_time():
    """qat/pqat follow control-magnitude's recipe, QKeras models qat.qkeras_recipe's control
    (on the default data, where the two controls' requests differ)."""
    config = load_config(ROOT / "config" / "beyond.yaml")
    finetune = walltime.finetune_runtime(config)
    assert finetune(SimpleNamespace(model="model1", variant="control-filters")) > finetune(
        SimpleNamespace(model="model1", variant="control-magnitude")
    )
    for recipe, control in (("magnitude", "control-magnitude"), ("filters", "control-filters")):
        config["qat"]["qkeras_recipe"] = recipe
        for model in config["models"]:
            asked = finetune(SimpleNamespace(model=model, variant="qkeras-w4a4"))
            assert asked == finetune(SimpleNamespace(model=model, variant=control))
            assert finetune(SimpleNamespace(model=model, variant="qat")) == finetune(
                SimpleNamespace(model=model, variant="control-magnitude")
            )
