"""Model 1: O'Shea, Corgan & Clancy 2016 "CNN2" (VT-CNN2), 1,592,383 parameters (Table I)."""

from __future__ import annotations

from amrcomp.tfsetup import keras

# What build() makes (a test checks it): the config check reads this, not a built model.
LAYER_TYPES = frozenset({"InputLayer", "Conv2D", "Dropout", "Flatten", "Dense"})


def build(
    input_shape: tuple[int, ...] = (2, 128, 1),
    n_classes: int = 11,
    dropout: float = 0.5,
    filters: tuple[int, int] = (50, 50),
    dense_units: int = 256,
):
    """Conv(1x8, same) -> Conv(2x8, valid) -> Dense 256 -> Dense n_classes, dropout after each."""
    layers = keras().layers
    inputs = layers.Input(shape=input_shape, name="iq")
    x = layers.Conv2D(filters[0], (1, 8), padding="same", activation="relu", name="conv1")(inputs)
    x = layers.Dropout(dropout, name="drop1")(x)
    x = layers.Conv2D(filters[1], (2, 8), padding="valid", activation="relu", name="conv2")(x)
    x = layers.Dropout(dropout, name="drop2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense_units, activation="relu", name="dense1")(x)
    x = layers.Dropout(dropout, name="drop3")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="output")(x)
    return keras().Model(inputs, outputs, name="oshea_cnn2")
