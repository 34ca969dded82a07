"""Data stage: make or import frames, split them per (class, SNR) block, store them once.

`build_dataset` is the whole stage; the generator and the importers live in their own modules.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from amrcomp import frames as frames_io
from amrcomp.data.split import split_blocks

log = logging.getLogger(__name__)


def load_source(dataset: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Frames, labels, SNRs and class names from the configured source."""
    source = dataset["source"]
    if source == "synthetic":
        from amrcomp.data import synthetic

        params = synthetic.GeneratorParams.from_dict(dataset["synthetic"])
        classes = list(dataset["classes"] or synthetic.CLASSES)  # null: every class
        snrs = list(dataset["snrs"] or synthetic.SNRS)
        x, labels, snr = synthetic.generate(
            dataset["frames_per_block"], dataset["seed"], params, classes, snrs
        )
        return x, labels, snr, classes
    from amrcomp.data import importers

    path = dataset["path"]
    if not path:
        raise ValueError(
            f"dataset.source is {source!r} but dataset.path is not set: point it at the data file"
        )
    if source in ("rml2016.10a", "rml2016.10b"):
        x, labels, snr, classes = importers.load_rml2016(
            path, expected_classes=importers.RML2016_CLASSES[source]
        )
        return _subset(x, labels, snr, classes, dataset)
    if source == "rml2018.01a":
        return importers.load_rml2018(
            path,
            classes=dataset["classes"],
            snrs=dataset["snrs"],
            max_per_block=dataset["frames_per_block"],
            seed=dataset["seed"],
        )
    raise ValueError(
        f"unknown dataset.source {source!r}; expected synthetic, rml2016.10a, rml2016.10b "
        "or rml2018.01a"
    )


def _subset(x, labels, snr, classes, dataset):
    """Keep only the configured classes/SNRs (real pickles hold all of them)."""
    keep = np.ones(len(labels), dtype=bool)
    if dataset["snrs"]:
        keep &= np.isin(snr, dataset["snrs"])
    if dataset["classes"]:
        unknown = sorted(set(dataset["classes"]) - set(classes))
        if unknown:
            raise ValueError(
                f"dataset.classes names {unknown}, which the file does not hold; it has {classes}"
            )
        wanted = [classes.index(c) for c in dataset["classes"]]
        keep &= np.isin(labels, wanted)
        remap = {old: new for new, old in enumerate(wanted)}
        labels = np.array([remap.get(int(v), -1) for v in labels], dtype=np.int64)
        classes = list(dataset["classes"])
    return x[keep], labels[keep], snr[keep], classes


def generator_provenance(dataset: dict[str, Any]) -> dict[str, Any]:
    """For generated frames: every generator parameter and what the SNR label means, so a
    manifest says how its frames were made (nothing for a real data file)."""
    if dataset["source"] != "synthetic":
        return {}
    from amrcomp.data import synthetic

    params = synthetic.GeneratorParams.from_dict(dataset["synthetic"])
    return {"generator": params.to_dict(), "snr_definition": synthetic.snr_definition(params)}


def build_dataset(dataset: dict[str, Any], out_dir: str | Path) -> dict[str, Any]:
    """Load the source, split it, write the splits and the manifest; return the manifest."""
    x, labels, snr, classes = load_source(dataset)
    log.info("loaded %d frames of shape %s from %s", len(labels), x.shape[1:], dataset["source"])
    if x.ndim != 3 or x.shape[1] != 2:
        raise ValueError(f"frames must have shape (N, 2, L); got {x.shape}")
    if not np.all(np.isfinite(x)):
        bad = int(np.flatnonzero(~np.isfinite(x).all(axis=(1, 2)))[0])
        raise ValueError(f"frame {bad} holds NaN or Inf; fix or drop it in the source file")
    fractions = dataset["split"]
    index = split_blocks(
        labels,
        snr,
        (fractions["train"], fractions["val"], fractions["test"]),
        dataset["split_seed"],
    )
    splits = {}
    for name, idx in index.items():
        splits[name] = frames_io.Split(
            x=x[idx].astype(np.float32),
            labels=labels[idx].astype(np.int64),
            snr=snr[idx].astype(np.int64),
        )
        frames_io.write_split(out_dir, name, splits[name])
        log.info("wrote split %s: %d frames", name, len(idx))
    manifest = {
        "source": dataset["source"],
        "path": dataset["path"],
        "seed": dataset["seed"],
        "split_seed": dataset["split_seed"],
        "classes": classes,
        "snrs": sorted(int(s) for s in np.unique(snr)),
        "frame_shape": list(x.shape[1:]),
        "counts": {name: len(s) for name, s in splits.items()},
        "content_hash": frames_io.content_hash(splits),
        **generator_provenance(dataset),
    }
    frames_io.write_manifest(out_dir, manifest)
    return manifest
