"""Wall time a cluster job asks for (Snakemake's `runtime` resource, minutes), estimated from
measured training throughput.

A fixed limit either kills the paper-scale training (110 epochs of 132,000 frames) or, sized for
it, queues every small job behind hours it never uses. The estimate scales with the work the
config asks for: training frames x epochs / samples per second (`cluster.samples_per_second`,
measured per architecture over whole epochs, so validation time is inside it), times a safety
margin, plus a fixed start-up overhead.
A retried job (attempt n) asks for n times the estimate; with per-epoch checkpoints it also
continues where the killed attempt stopped.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from amrcomp import variants

# Frames per (class, SNR) block and the block grid of each source; the synthetic grid is
# RML2016.10a's (11 classes x 20 SNRs, -20..18 dB), its block size `dataset.frames_per_block`.
SOURCE_GRID = {
    "synthetic": (11, 20, None),
    "rml2016.10a": (11, 20, 1000),
    "rml2016.10b": (10, 20, 6000),
    "rml2018.01a": (24, 26, 4096),  # frames_per_block keeps at most that many per block
}
Runtime = Callable[..., int]


def dataset_frames(dataset: dict[str, Any]) -> int:
    """Frames the data rule will write, from the config alone (the data do not exist yet)."""
    classes, snrs, per_block = SOURCE_GRID[dataset["source"]]
    classes = len(dataset["classes"]) if dataset["classes"] else classes
    snrs = len(dataset["snrs"]) if dataset["snrs"] else snrs
    wanted = dataset["frames_per_block"]
    if per_block is None or (dataset["source"] == "rml2018.01a" and wanted):
        per_block = min(wanted, per_block) if per_block else wanted
    return classes * snrs * per_block


def minutes(
    work_frames: float, samples_per_second: float, cluster: dict[str, Any], attempt: int
) -> int:
    """Overhead + margin x (frames processed / throughput), times the attempt number."""
    seconds = work_frames / samples_per_second * cluster["margin"]
    return math.ceil((cluster["overhead_minutes"] + seconds / 60) * max(attempt, 1))


def throughput(config: dict[str, Any], model: str) -> float | None:
    """The model's architecture's measured frames/s, else `default` (None without either)."""
    measured = config["cluster"]["samples_per_second"]
    return measured.get(config["models"][model]["arch"], measured.get("default"))


def train_runtime(config: dict[str, Any]) -> Runtime:
    """The train rule's runtime: every epoch over the training split (the measured throughput
    counts training frames per second of whole epochs, so validation is already inside it)."""
    train = dataset_frames(config["dataset"]) * config["dataset"]["split"]["train"]

    def runtime(wildcards, attempt: int = 1) -> int:
        epochs = config["models"][wildcards.model]["train"]["epochs"]
        speed = throughput(config, wildcards.model)
        return minutes(epochs * train, speed, config["cluster"], attempt)

    return runtime


def finetune_runtime(config: dict[str, Any]) -> Runtime:
    """The prune, control, qat and qkeras rules' runtime: the fine-tune's epochs over its frames
    (or the whole training split), each recipe as `amrcomp.settings.model_finetune` layers it
    (a quantisation-aware variant's: its control's). A fine-tune on
    few frames still validates on the whole split each epoch: those frames are counted as if
    trained on (an upper bound; a forward pass costs about a third of a training step)."""
    from amrcomp.settings import model_finetune, qat_recipe

    frames = dataset_frames(config["dataset"])
    split = config["dataset"]["split"]

    def runtime(wildcards, attempt: int = 1) -> int:
        parsed = variants.parse(wildcards.variant)  # a QAT variant: its control's recipe
        method = (
            qat_recipe(config, parsed.training)
            if parsed.is_qat
            else variants.parse_finetuned(parsed.name).method
        )
        recipe = model_finetune(config, wildcards.model, method)
        train = frames * split["train"]
        per_epoch = min(recipe["frames"] or train, train) + frames * split["val"]
        work = recipe["epochs"] * per_epoch
        return minutes(work, throughput(config, wildcards.model), config["cluster"], attempt)

    return runtime
