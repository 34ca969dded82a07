"""Training loop shared by baseline training and pruning fine-tunes.

Adam with Table II settings, best-val_loss weights kept (the paper's checkpoint), learning-rate
halving on plateaus and early stopping; tf.data with prefetch so the CPU never waits on input.

Every epoch draws its randomness from (seed, epoch) alone: its frame order is a stateless
permutation of that pair, and the random layers (Dropout) are re-seeded from it when it begins.
Keras' own streams (a reshuffling `shuffle`, the dropout ops' internal state) continue from the
previous epoch and start over in a new process, so with them a run resumed from a checkpoint
(`amrcomp.checkpoint`) could not repeat what the uninterrupted run drew. With the same seed and
thread counts a resumed run gives bit-identical weights and history (timings aside).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
import weakref
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

from amrcomp import checkpoint
from amrcomp.frames import Split
from amrcomp.tfsetup import keras

if TYPE_CHECKING:
    from amrcomp.distill import Distillation

# Layers that are linear in their input and carry no weights: an input scale passes through
# them unchanged to the first layer with a kernel, where it can be folded in.
_SCALE_TRANSPARENT = (
    "InputLayer",
    "Reshape",
    "Dropout",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "Permute",
    "Flatten",
    "GaussianNoise",
)


def input_scale_for(train: Split, setting: float | str | None) -> float:
    """The factor frames are multiplied by while training.

    L1-normalised frames have an RMS near 1/sqrt(2*128*...) ~ 0.006, so Adam needs thousands of
    steps just to grow the first kernel; 'auto' (1/std of the training frames) gives the first
    layer unit-variance inputs instead. The factor is folded into the first kernel afterwards,
    so every saved model takes the raw frames.
    """
    if setting is None:
        return 1.0
    if setting == "auto":
        std = float(np.std(np.asarray(train.x, dtype=np.float64)))
        if not np.isfinite(std) or std <= 0:
            raise ValueError(
                "input_scale: auto needs training frames with a positive, finite spread "
                f"(std {std})"
            )
        return 1.0 / std
    scale = float(setting)
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"input_scale must be 'auto' or a positive number, got {setting!r}")
    return scale


def fold_input_scale(model, scale: float) -> str:
    """Multiply the first kernel by `scale` so model(x) equals the trained model(scale * x).

    Exact because every layer before the first kernel is linear and weightless; returns the name
    of the layer that absorbed the factor.
    """
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            if not hasattr(layer, "kernel"):
                raise ValueError(
                    f"cannot fold the input scale into {layer.name} ({type(layer).__name__}): "
                    "its first weighted layer has no kernel"
                )
            weights[0] = weights[0] * np.float32(scale)
            layer.set_weights(weights)
            return layer.name
        if type(layer).__name__ not in _SCALE_TRANSPARENT:
            raise ValueError(
                f"cannot fold the input scale past {layer.name} ({type(layer).__name__}); "
                "set input_scale: null for this model"
            )
    raise ValueError("cannot fold the input scale: the model has no layer with a kernel")


def dataset(
    frames: Split,
    n_classes: int,
    batch_size: int,
    shuffle_seed: int | None,
    scale: float = 1.0,
    soft: np.ndarray | None = None,
):
    """A prefetched tf.data pipeline of (scale * frames (n,2,L,1), one-hot labels), the labels
    followed by `soft` (a teacher's probabilities, `amrcomp.distill`) when given.

    tf.data autotuning is off: its model thread sleeps for up to a minute between optimisation
    rounds and destroying an iterator waits for that sleep to end, which idled the CPU for
    0-40 s after each epoch (Keras makes a new iterator per epoch; measured on TF 2.21, 2 cores).
    A fixed prefetch of two batches keeps the CPU fed just as well here.
    """
    import tensorflow as tf

    arrays = _arrays(frames, scale, soft)
    ds = tf.data.Dataset.from_tensor_slices(arrays)
    if shuffle_seed is not None:
        ds = ds.shuffle(len(frames), seed=shuffle_seed, reshuffle_each_iteration=True)
    return _targets(ds.batch(batch_size), n_classes)


def epoch_batches(
    frames: Split,
    n_classes: int,
    batch_size: int,
    seed: int,
    epochs: range,
    scale: float = 1.0,
    soft: np.ndarray | None = None,
):
    """The training batches of `epochs`, back to back, as `dataset` makes them; each epoch's
    order is a permutation drawn from (seed, epoch) alone, so epoch k is the same whether or not
    the run restarted before it. One iterator serves every epoch (fit with `steps_per_epoch`)."""
    import tensorflow as tf

    tensors = tuple(tf.constant(a) for a in _arrays(frames, scale, soft))
    n = len(frames)

    def one_epoch(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), epoch])
        )
        starts = tf.data.Dataset.range(0, n, batch_size)
        return starts.map(lambda start: order[start : start + batch_size])

    batches = tf.data.Dataset.range(epochs.start, epochs.stop).flat_map(one_epoch)
    return _targets(batches.map(lambda i: tuple(tf.gather(t, i) for t in tensors)), n_classes)


def _arrays(frames: Split, scale: float, soft: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """(scale * frames (n,2,L,1), labels) and `soft` when given."""
    x = np.asarray(frames.x, dtype=np.float32)[..., None]
    if scale != 1.0:
        x = x * np.float32(scale)
    y = np.asarray(frames.labels, dtype=np.int64)
    return (x, y) if soft is None else (x, y, np.asarray(soft))


def _targets(batches, n_classes: int):
    """Batches of (frames, one-hot labels [+ soft]), prefetched, without autotuning."""
    import tensorflow as tf

    def targets(x, labels, *soft):
        one_hot = tf.one_hot(labels, n_classes)
        return x, tf.concat([one_hot, *soft], 1) if soft else one_hot

    batches = batches.map(targets)
    options = tf.data.Options()
    options.autotune.enabled = False
    return batches.prefetch(2).with_options(options)


def epoch_seed(seed: int, epoch: int, stream: int) -> int:
    """A seed for one random stream (a layer) in one epoch, from the run's seed alone."""
    return int(np.random.SeedSequence([seed, epoch, stream]).generate_state(1, np.uint64)[0])


# One tf.random.Generator per random layer, kept across fits: a train function traced in one
# fit reads the same generator in the next.
_GENERATORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class EpochSeeds(keras().callbacks.Callback):
    """Re-seed the random layers' generators from (seed, epoch, layer) as each epoch begins."""

    def __init__(self, generators: Sequence, seed: int):
        super().__init__()
        self.generators, self.seed = list(generators), seed

    def on_epoch_begin(self, epoch, logs=None):
        for i, generator in enumerate(self.generators):
            generator.reset_from_seed(epoch_seed(self.seed, epoch, i))


@contextlib.contextmanager
def seeded_random_layers(model, seed: int) -> Iterator[EpochSeeds]:
    """Let the model's random layers (Dropout, GaussianNoise) draw from resettable generators
    while it trains; yield the callback that re-seeds them each epoch.

    Keras' default random ops keep their state inside the traced train function, where it can be
    neither saved nor reset. The layers get their usual random ops back afterwards, so their
    configs, and the models saved from them, stay as they were.
    """
    import tensorflow as tf

    untracked = tf.__internal__.tracking.no_automatic_dependency_tracking

    @untracked
    def assign(rng, rng_type: str, generator, built: bool) -> None:
        rng._rng_type, rng._generator, rng._built = rng_type, generator, built

    rngs = [
        layer._random_generator
        for layer in model._flatten_layers(include_self=False)
        if hasattr(layer, "_random_generator")
    ]
    before = [(r._rng_type, getattr(r, "_generator", None), r._built) for r in rngs]
    fresh = [r for r in rngs if r not in _GENERATORS]
    for rng in fresh:
        _GENERATORS[rng] = tf.random.Generator.from_seed(0, alg="philox")
    if fresh and getattr(model, "train_function", None) is not None:
        model.make_train_function(force=True)  # traced with the old random ops: trace again
    try:
        for rng in rngs:
            assign(rng, rng.RNG_STATEFUL, _GENERATORS[rng], True)
        yield EpochSeeds([_GENERATORS[r] for r in rngs], seed)
    finally:
        for rng, (rng_type, generator, built) in zip(rngs, before):
            assign(rng, rng_type, generator, built)


class EpochLog(keras().callbacks.Callback):
    """One log line per epoch (loss, accuracy, learning rate, seconds) and the history rows."""

    def __init__(self, log: logging.Logger, total_epochs: int, tag: str):
        super().__init__()
        self.log, self.total, self.tag, self.rows = log, total_epochs, tag, []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        lr = float(keras().backend.get_value(self.model.optimizer.learning_rate))
        row = {
            "epoch": epoch + 1,
            "seconds": round(time.perf_counter() - self._start, 3),
            "learning_rate": lr,
        }
        row.update({k: float(v) for k, v in logs.items() if k != "lr"})
        self.rows.append(row)
        metrics = " ".join(
            f"{k}={v:.4f}" for k, v in row.items() if k not in ("epoch", "seconds", "learning_rate")
        )
        self.log.info(
            "%s epoch %d/%d %s lr=%.2e (%.1fs)",
            self.tag,
            epoch + 1,
            self.total,
            metrics,
            lr,
            row["seconds"],
        )


class KeepBest(keras().callbacks.Callback):
    """Keep the weights of the epoch with the lowest val_loss
    (ModelCheckpoint(save_best_only) in memory)."""

    def __init__(self):
        super().__init__()
        self.best, self.best_epoch, self.weights = np.inf, 0, None

    def on_epoch_end(self, epoch, logs=None):
        val_loss = float((logs or {}).get("val_loss", np.inf))
        if val_loss < self.best or self.weights is None:
            self.best, self.best_epoch, self.weights = val_loss, epoch + 1, self.model.get_weights()


def compile_model(
    model,
    settings: dict[str, Any],
    loss: Any = "categorical_crossentropy",
    metric: Any = "accuracy",
) -> None:
    """Adam + categorical cross-entropy, as in Table II (a distillation passes its own loss)."""
    optimizer = keras().optimizers.Adam(
        learning_rate=settings["learning_rate"],
        beta_1=settings["beta_1"],
        beta_2=settings["beta_2"],
    )
    model.compile(optimizer=optimizer, loss=loss, metrics=[metric])


def fit(
    model,
    train: Split,
    val: Split,
    n_classes: int,
    settings: dict[str, Any],
    log: logging.Logger,
    tag: str = "train",
    extra_callbacks: Sequence = (),
    recompile: bool = True,
    fold: bool = True,
    distillation: Distillation | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Train in place, restore the best-val_loss weights; return history rows and what
    was actually used.

    With `input_scale` in settings the model trains on scaled frames and (with `fold`) the scale
    is then folded into its first kernel, so the returned model still takes raw frames. With a
    `distillation` it trains on that loss, against its teacher's probabilities of these frames.
    With a `checkpoint_dir` the state is saved there after every epoch and a run of the same
    settings, model and data resumes from it (`amrcomp.checkpoint`); the caller deletes it once
    its outputs are written. Then `used["seconds"]` also counts the runs before the resume.
    """
    scale = input_scale_for(train, settings["input_scale"])
    if recompile:
        compile_model(model, settings, *(distillation.compiled(n_classes) if distillation else ()))
    soft = (distillation.train, distillation.val) if distillation else (None, None)
    epochs = int(settings["epochs"])
    seed = int(settings["seed"])
    batch_size = int(settings["batch_size"])
    epoch_log, keep_best = EpochLog(log, epochs, tag), KeepBest()
    callbacks = [*extra_callbacks, epoch_log, keep_best]
    plateau = settings["reduce_lr"]
    if plateau:
        callbacks.append(
            keras().callbacks.ReduceLROnPlateau(
                monitor="val_loss",
                factor=plateau["factor"],
                patience=plateau["patience"],
                min_lr=plateau["min_lr"],
                verbose=0,
            )
        )
    if settings["early_stopping_patience"]:
        callbacks.append(
            keras().callbacks.EarlyStopping(
                monitor="val_loss", patience=settings["early_stopping_patience"], verbose=0
            )
        )
    log.info(
        "%s: %d train / %d val frames, batch %d, up to %d epochs, input scale %.4g",
        tag,
        len(train),
        len(val),
        batch_size,
        epochs,
        scale,
    )
    started = time.perf_counter()
    saver, resumed = None, None
    if checkpoint_dir is not None:
        key = checkpoint.fingerprint(_identity(model, settings, n_classes, train, val, soft))
        saver = checkpoint.Checkpointing(checkpoint_dir, key, log, callbacks)
        callbacks.append(saver)
        resumed = saver.resume(model, tag)
    first = resumed.record["epoch"] if resumed else 0
    if first < epochs and not (resumed and resumed.record["stopped"]):
        with seeded_random_layers(model, seed) as reseed:
            model.fit(
                epoch_batches(
                    train, n_classes, batch_size, seed, range(first, epochs), scale, soft[0]
                ),
                steps_per_epoch=math.ceil(len(train) / batch_size),
                initial_epoch=first,
                validation_data=dataset(val, n_classes, batch_size, None, scale, soft[1]),
                epochs=epochs,
                callbacks=[reseed, *callbacks],
                verbose=0,
            )
    if keep_best.weights is not None:
        model.set_weights(keep_best.weights)
    folded_into = fold_input_scale(model, scale) if fold and scale != 1.0 else None
    optimizer = model.optimizer.get_config()
    used = {
        "optimizer": type(model.optimizer).__name__,
        "learning_rate": float(settings["learning_rate"]),
        "beta_1": float(optimizer.get("beta_1", settings["beta_1"])),
        "beta_2": float(optimizer.get("beta_2", settings["beta_2"])),
        "loss": model.loss if isinstance(model.loss, str) else type(model.loss).__name__,
        "distillation": distillation.record() if distillation else None,
        "batch_size": int(settings["batch_size"]),
        "epochs_max": epochs,
        "epochs_run": len(epoch_log.rows),
        "best_epoch": keep_best.best_epoch,
        "best_val_loss": float(keep_best.best),
        "input_scale": scale,
        "input_scale_folded_into": folded_into,
        "train_frames": len(train),
        "resumed_from_epoch": first if resumed else None,
        "seconds": round(
            (saver.seconds_before if saver else 0.0) + time.perf_counter() - started, 3
        ),
        "samples_per_second": round(
            len(train) * len(epoch_log.rows) / max(sum(r["seconds"] for r in epoch_log.rows), 1e-9),
            1,
        ),
    }
    log.info(
        "%s done: %d epochs, best val_loss %.4f at epoch %d",
        tag,
        used["epochs_run"],
        used["best_val_loss"],
        used["best_epoch"],
    )
    return {"history": epoch_log.rows, "used": used}


def _identity(model, settings, n_classes, train, val, soft) -> dict[str, Any]:
    """Everything a fit's result depends on, for its checkpoint's fingerprint: the model's config
    (architecture, parameters, each layer's precision) and initial weights, the settings, the
    frames and targets, and the thread counts (they split TensorFlow's sums)."""
    import tensorflow as tf

    return {
        "model": model.to_json(),
        "initial_weights": model.get_weights(),
        "optimizer": model.optimizer.get_config(),
        "settings": settings,
        "n_classes": n_classes,
        "frames": [np.asarray(a) for s in (train, val) for a in (s.x, s.labels)],
        "soft": [np.asarray(t) for t in soft if t is not None],
        "threads": [
            tf.config.threading.get_intra_op_parallelism_threads(),
            tf.config.threading.get_inter_op_parallelism_threads(),
        ],
    }
