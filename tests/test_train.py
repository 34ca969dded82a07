"""Training input: the scale folds exactly into the first kernel;
the tf.data pipeline never idles."""

import numpy as np
import pytest

from amrcomp import tfsetup

tfsetup.configure(2, 0)

from amrcomp.fitting import dataset, fold_input_scale, input_scale_for  # noqa: E402
from amrcomp.frames import Split  # noqa: E402
from amrcomp.models import build_model  # noqa: E402
from amrcomp.tfsetup import keras  # noqa: E402


def frames(n=64, rms=0.006, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=(n, 2, 128)) * rms).astype(np.float32)
    return Split(x=x, labels=rng.integers(0, 11, n), snr=np.zeros(n, dtype=np.int64))


def test_auto_scale_is_the_inverse_spread():
    train = frames()
    assert input_scale_for(train, "auto") == pytest.approx(1 / np.std(train.x.astype(np.float64)))
    assert input_scale_for(train, None) == 1.0
    assert input_scale_for(train, 25) == 25.0
    with pytest.raises(ValueError, match="positive"):
        input_scale_for(train, 0)
    with pytest.raises(ValueError, match="spread"):
        input_scale_for(
            Split(x=np.zeros((4, 2, 128), np.float32), labels=np.zeros(4), snr=np.zeros(4)), "auto"
        )


@pytest.mark.parametrize("arch", ["oshea_cnn2", "tekbiyik"])
def test_folded_model_on_raw_frames_equals_trained_model_on_scaled_frames(arch):
    model = build_model(arch)
    x = frames(32).x[..., None]
    scale = 150.0
    expected = model.predict(x * scale, verbose=0)
    assert fold_input_scale(model, scale) == "conv1"
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-6)


def test_fold_refuses_a_nonlinear_layer_before_the_first_kernel():
    layers = keras().layers
    inputs = layers.Input((4,))
    outputs = layers.Dense(2)(layers.Activation("tanh")(inputs))
    with pytest.raises(ValueError, match="cannot fold the input scale past"):
        fold_input_scale(keras().Model(inputs, outputs), 10.0)


def test_training_pipeline_has_no_autotune_thread_and_reshuffles_with_its_seed():
    """Autotuning made each epoch's iterator teardown wait up to a minute with the CPU idle."""
    train = frames(40)
    ds = dataset(train, 11, batch_size=16, shuffle_seed=7, scale=2.0)
    assert ds.options().autotune.enabled is False
    epochs = [np.concatenate([x.numpy() for x, _ in ds]) for _ in range(2)]
    assert epochs[0].shape == (40, 2, 128, 1)
    key = lambda x: np.sort(x[:, 0, 0, 0])  # noqa: E731
    np.testing.assert_allclose(
        key(epochs[0]), key(train.x[..., None] * 2.0), rtol=1e-6
    )  # a permutation of the scaled frames
    assert not np.array_equal(epochs[0], epochs[1]), "each epoch must reshuffle"
    np.testing.assert_array_equal(
        epochs[0], np.concatenate([x.numpy() for x, _ in dataset(train, 11, 16, 7, 2.0)])
    )
    labels = np.concatenate([y.numpy() for _, y in ds])
    assert labels.shape == (40, 11) and np.all(labels.sum(axis=1) == 1)
