"""Model 2: Tekbiyik et al. 2020, four Conv(2x8)+MaxPool(1x2) blocks,
858,123 parameters (Table I)."""

from __future__ import annotations

from amrcomp.tfsetup import keras

# What build() makes (a test checks it): the config check reads this, not a built model.
LAYER_TYPES = frozenset({"InputLayer", "Conv2D", "MaxPooling2D", "Dropout", "Flatten", "Dense"})


def build(
    input_shape: tuple[int, ...] = (2, 128, 1),
    n_classes: int = 11,
    dropout: float = 0.5,
    filters: tuple[int, ...] = (256, 128, 64, 64),
    dense_units: int = 128,
):
    """[Conv(2x8, same) -> MaxPool(1x2) -> Dropout] x 4 -> Dense 128 -> Dense n_classes."""
    layers = keras().layers
    inputs = layers.Input(shape=input_shape, name="iq")
    x = inputs
    for i, n in enumerate(filters, start=1):
        x = layers.Conv2D(n, (2, 8), padding="same", activation="relu", name=f"conv{i}")(x)
        x = layers.MaxPooling2D((1, 2), name=f"pool{i}")(x)
        x = layers.Dropout(dropout, name=f"drop{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense_units, activation="relu", name="dense1")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="output")(x)
    return keras().Model(inputs, outputs, name="tekbiyik")
