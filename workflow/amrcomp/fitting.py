"""Training loop shared by baseline training and pruning fine-tunes.

Adam with Table II settings, best-val_loss weights kept (the paper's checkpoint), learning-rate
halving on plateaus and early stopping; tf.data with prefetch so the CPU never waits on input.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

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

    x = np.asarray(frames.x, dtype=np.float32)[..., None]
    if scale != 1.0:
        x = x * np.float32(scale)
    y = np.asarray(frames.labels, dtype=np.int64)
    ds = tf.data.Dataset.from_tensor_slices((x, y) if soft is None else (x, y, soft))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(y), seed=shuffle_seed, reshuffle_each_iteration=True)
    if soft is None:
        ds = ds.batch(batch_size).map(lambda a, b: (a, tf.one_hot(b, n_classes)))
    else:
        ds = ds.batch(batch_size).map(
            lambda a, b, t: (a, tf.concat([tf.one_hot(b, n_classes), t], 1))
        )
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.prefetch(2).with_options(options)


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
) -> dict[str, Any]:
    """Train in place, restore the best-val_loss weights; return history rows and what
    was actually used.

    With `input_scale` in settings the model trains on scaled frames and (with `fold`) the scale
    is then folded into its first kernel, so the returned model still takes raw frames. With a
    `distillation` it trains on that loss, against its teacher's probabilities of these frames.
    """
    scale = input_scale_for(train, settings["input_scale"])
    if recompile:
        compile_model(model, settings, *(distillation.compiled(n_classes) if distillation else ()))
    soft = (distillation.train, distillation.val) if distillation else (None, None)
    epochs = int(settings["epochs"])
    seed = int(settings["seed"])
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
        settings["batch_size"],
        epochs,
        scale,
    )
    started = time.perf_counter()
    model.fit(
        dataset(train, n_classes, settings["batch_size"], seed, scale, soft[0]),
        validation_data=dataset(val, n_classes, settings["batch_size"], None, scale, soft[1]),
        epochs=epochs,
        callbacks=callbacks,
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
        "seconds": round(time.perf_counter() - started, 3),
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
