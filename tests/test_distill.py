"""Knowledge distillation: the loss against a hand computation, and fine-tunes that run on it
through tfmot's pruning wrappers, the filter-pruned rebuild and the control."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from amrcomp import tfsetup

tfsetup.configure(2, 0)

from amrcomp.distill import DistillationLoss, label_accuracy, soft_targets, teach  # noqa: E402
from amrcomp.frames import Split  # noqa: E402
from amrcomp.models import build_model  # noqa: E402
from amrcomp.prune import finetune_settings, prune_variant  # noqa: E402
from amrcomp.variants import parse_finetuned  # noqa: E402
from conftest import random_frames  # noqa: E402

LOG = logging.getLogger("test_distill")
N_CLASSES = 4
DISTILL = {"enabled": True, "alpha": 0.3, "temperature": 2.0}


def frames(n: int, seed: int) -> Split:
    return random_frames(n, seed, N_CLASSES)


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_loss_equals_the_hand_computed_value():
    labels = np.array([[0, 1, 0], [1, 0, 0]], np.float32)
    teacher = np.array([[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]], np.float32)
    student = np.array([[0.1, 0.6, 0.3], [0.6, 0.3, 0.1]], np.float32)
    alpha, t = 0.3, 2.0
    expected = []
    for y, q, p in zip(labels, teacher, student):
        ce = -np.sum(y * np.log(p))
        q_t, p_t = softmax(np.log(q) / t), softmax(np.log(p) / t)
        kl = np.sum(q_t * np.log(q_t / p_t))
        expected.append(alpha * ce + (1 - alpha) * t**2 * kl)
    loss = DistillationLoss(3, alpha, t)
    y_true = np.concatenate([labels, teacher], axis=1)
    assert float(loss(y_true, student)) == pytest.approx(np.mean(expected), rel=1e-5)
    # alpha 1 is Keras' own cross-entropy; a student equal to its teacher adds no soft term
    keras = tfsetup.keras()
    ce = keras.losses.CategoricalCrossentropy()(labels, student)
    assert float(DistillationLoss(3, 1.0, t)(y_true, student)) == pytest.approx(float(ce))
    same = np.concatenate([labels, student], axis=1)
    assert float(DistillationLoss(3, 0.0, t)(same, student)) == pytest.approx(0.0, abs=1e-6)
    accuracy = label_accuracy(3)(y_true, student).numpy()
    assert accuracy.tolist() == [1.0, 1.0]


def test_teacher_probabilities_are_one_batched_forward_pass():
    teacher = build_model("oshea_cnn2", n_classes=N_CLASSES, filters=(4, 4), dense_units=8)
    x = frames(50, 3)
    probs = soft_targets(teacher, x, batch_size=16)
    np.testing.assert_allclose(probs, teacher.predict(x.model_input(), verbose=0), rtol=1e-5)
    assert probs.shape == (50, N_CLASSES) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    with pytest.raises(ValueError, match="alpha must be in"):
        teach(teacher, {"alpha": 1.5, "temperature": 2.0}, x, x)


@pytest.mark.parametrize("variant", ["magnitude-50", "filters-50", "control-filters"])
def test_fine_tune_with_distillation_runs_on_every_path(variant):
    """tfmot's wrappers (plain model.fit on the wrapped model), the rebuilt filter-pruned model
    and the control all train on the distillation targets and record it."""
    baseline = build_model("oshea_cnn2", n_classes=N_CLASSES, filters=(8, 8), dense_units=16)
    tune = finetune_settings(
        {"epochs": 1, "batch_size": 32, "learning_rate": 1e-3, "distill": DISTILL}, seed=1
    )
    before = [w.copy() for w in baseline.get_weights()]
    model, report = prune_variant(
        baseline, parse_finetuned(variant), frames(96, 1), frames(32, 2), N_CLASSES, tune, LOG
    )
    assert report["distillation"] == DISTILL
    assert report["finetune"]["loss"] == "DistillationLoss"
    assert report["finetune"]["distillation"] == DISTILL
    assert report["settings"]["finetune"]["distill"] == DISTILL
    history = report["history"][0]
    assert 0.0 <= history["accuracy"] <= 1.0 and np.isfinite(history["loss"])
    if variant == "control-filters":  # it trains a copy: the baseline (the teacher) stays as it was
        assert all(np.array_equal(a, b) for a, b in zip(before, baseline.get_weights()))
    assert model.output_shape == (None, N_CLASSES)


def test_distillation_off_keeps_the_plain_loss():
    tune = finetune_settings({"epochs": 1, "batch_size": 32, "learning_rate": 1e-3}, seed=1)
    assert tune["distill"] is None
    off = {"epochs": 1, "batch_size": 32, "learning_rate": 1e-3, "distill": {"enabled": False}}
    assert finetune_settings(off, seed=1)["distill"] is None
    baseline = build_model("oshea_cnn2", n_classes=N_CLASSES, filters=(4, 4), dense_units=8)
    _, report = prune_variant(
        baseline,
        parse_finetuned("control-filters"),
        frames(64, 1),
        frames(32, 2),
        N_CLASSES,
        tune,
        LOG,
    )
    assert report["distillation"] == {"enabled": False}
    assert report["finetune"]["loss"] == "categorical_crossentropy"
