"""Knowledge distillation for the fine-tunes: the baseline teaches its pruned variants.

A pruned variant (or the control) can learn from the baseline's whole output distribution, not
only from the labels: its loss is

    alpha * CE(labels, p) + (1 - alpha) * T^2 * KL(q_T || p_T),

p the student's and q the teacher's softmax outputs, x_T = softmax(log(x) / T) (the models end
in a softmax, so log-probabilities stand in for logits; T^2 keeps the soft term's gradients at
the hard term's scale, Hinton et al. 2015). The teacher runs once over the fine-tune's frames
(`soft_targets`); each training target is then the one-hot label beside the teacher's
probabilities, a row of 2 * n_classes, so plain `model.fit` trains any model on it, tfmot's
pruning wrappers and the rebuilt filter-pruned models alike (`amrcomp.fitting.fit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from amrcomp.frames import Split
from amrcomp.tfsetup import keras


@dataclass(frozen=True)
class Distillation:
    """Loss weights and the teacher's probabilities on the training and validation frames."""

    alpha: float
    temperature: float
    train: np.ndarray  # (n_train, n_classes) teacher softmax
    val: np.ndarray  # (n_val, n_classes)

    def compiled(self, n_classes: int) -> tuple[Any, Any]:
        """The loss and the label-accuracy metric `amrcomp.fitting.compile_model` takes."""
        return DistillationLoss(n_classes, self.alpha, self.temperature), label_accuracy(n_classes)

    def record(self) -> dict[str, Any]:
        """What the summaries keep: the switch and its settings, not the probabilities."""
        return {"enabled": True, "alpha": self.alpha, "temperature": self.temperature}


def enabled(settings: dict[str, Any] | None) -> bool:
    """True when a `prune.finetune.distill` mapping switches distillation on."""
    return bool(settings and settings.get("enabled"))


def soft_targets(teacher, frames: Split, batch_size: int = 1024) -> np.ndarray:
    """The teacher's class probabilities on every frame (one forward pass, raw frames: a saved
    baseline has its input scale folded in)."""
    out = [
        np.asarray(teacher(frames.model_input(start, start + batch_size), training=False))
        for start in range(0, len(frames), batch_size)
    ]
    probs = np.concatenate(out).astype(np.float32)
    if not np.all(np.isfinite(probs)):
        raise ValueError("the teacher (the baseline) gave non-finite probabilities")
    return probs


def teach(
    teacher, settings: dict[str, Any], train: Split, val: Split, batch_size: int = 1024
) -> Distillation:
    """A distillation of `teacher` over the fine-tune's frames with `settings`
    (`prune.finetune.distill`)."""
    alpha, temperature = float(settings["alpha"]), float(settings["temperature"])
    if not 0.0 <= alpha <= 1.0 or temperature <= 0:
        raise ValueError(
            f"prune.finetune.distill: alpha must be in [0, 1] and temperature > 0, "
            f"got {alpha} and {temperature}"
        )
    return Distillation(
        alpha, temperature, soft_targets(teacher, train, batch_size), soft_targets(teacher, val)
    )


def _log_probs(p, epsilon: float):
    """log of probabilities clipped and renormalised as Keras' categorical cross-entropy does."""
    import tensorflow as tf

    p = p / tf.reduce_sum(p, axis=-1, keepdims=True)
    return tf.math.log(tf.clip_by_value(p, epsilon, 1.0 - epsilon))


class DistillationLoss(keras().losses.Loss):
    """alpha * CE(labels) + (1 - alpha) * T^2 * KL(teacher_T || student_T) per frame; y_true
    holds the one-hot labels in its first n_classes columns and the teacher's probabilities in
    the rest."""

    def __init__(self, n_classes: int, alpha: float, temperature: float):
        super().__init__(name="distillation")
        self.n_classes, self.alpha, self.temperature = n_classes, alpha, temperature

    def call(self, y_true, y_pred):
        import tensorflow as tf

        eps = keras().backend.epsilon()
        y_true, y_pred = tf.cast(y_true, tf.float32), tf.cast(y_pred, tf.float32)  # bf16 outputs
        labels, teacher = y_true[:, : self.n_classes], y_true[:, self.n_classes :]
        log_p = _log_probs(y_pred, eps)
        hard = -tf.reduce_sum(labels * log_p, axis=-1)
        log_student = tf.nn.log_softmax(log_p / self.temperature, axis=-1)
        log_teacher = tf.nn.log_softmax(_log_probs(teacher, eps) / self.temperature, axis=-1)
        soft = tf.reduce_sum(tf.exp(log_teacher) * (log_teacher - log_student), axis=-1)
        return self.alpha * hard + (1.0 - self.alpha) * self.temperature**2 * soft


def label_accuracy(n_classes: int):
    """Top-1 accuracy against the labels (the targets' first n_classes columns), logged as
    `accuracy` like a plain fit's, so histories and tables read the same either way."""
    import tensorflow as tf

    def accuracy(y_true, y_pred):
        labels = tf.argmax(y_true[:, :n_classes], axis=-1)
        return tf.cast(tf.equal(labels, tf.argmax(y_pred, axis=-1)), tf.float32)

    return accuracy
