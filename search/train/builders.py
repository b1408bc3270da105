"""From a configuration (a point of a space) to a compiled Keras model.

The same builder serves the search and the final retraining, so a retrained model is exactly the
configuration that won. Augmentation lives inside the model as preprocessing layers: it runs on the graph,
only in training, and travels with the saved ``.keras`` file.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from bakeoff.search.train.backend import import_keras
from bakeoff.search.train.settings import Speed

Config = dict[str, Any]


def build_model(config: Config, family: str, input_shape: tuple[int, ...], num_classes: int, total_steps: int, speed: Speed):
    """A compiled model with ``speed``'s settings (``speed.tuned_model`` chooses them for this machine);
    ``total_steps`` sets the length of a cosine learning-rate schedule."""
    keras = import_keras()
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(speed.policy)
    try:
        return _build(config, family, input_shape, num_classes, total_steps, speed, keras)
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _build(config, family, input_shape, num_classes, total_steps, speed: Speed, keras):
    layers = keras.layers
    regularizer = keras.regularizers.L2(config["l2"]) if config.get("l2_penalty") else None
    inputs = keras.Input(shape=input_shape)
    x = _augmentation(inputs, config, layers)
    if config.get("pixel_order") is not None:  # the shuffled-pixel control: augment the image, then shuffle it
        x = _shuffle_pixels(x, config["pixel_order"], keras)
    if family == "ann":
        x = layers.Flatten()(x)
        for units in config["units"]:
            x = _dense_block(x, units, config, regularizer, layers)
    elif family == "cnn":
        x = _conv_body(x, config, regularizer, layers)
    else:
        raise ValueError(f"unknown family {family!r}")
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", kernel_regularizer=regularizer)(x)
    model = keras.Model(inputs, outputs, name=family)
    model.compile(
        optimizer=_optimizer(config, total_steps, keras),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.get("label_smoothing", 0.0)),
        metrics=["accuracy"],
        steps_per_execution=speed.steps_per_execution,
        jit_compile=speed.jit_compile,
    )
    return model


def _shuffle_pixels(x, order, keras):
    """Reorder the pixel positions of each image by the fixed ``order`` (channels move with their pixel)."""
    height, width, channels = x.shape[1:]
    flat = keras.layers.Reshape((height * width, channels))(x)
    shuffled = keras.layers.Lambda(lambda t: keras.ops.take(t, keras.ops.convert_to_tensor(order, "int32"), axis=1))(flat)
    return keras.layers.Reshape((height, width, channels))(shuffled)


def _augmentation(x, config: Config, layers):
    if not config.get("augment"):
        return x
    translate, rotate, zoom = config.get("translate", 0.0), config.get("rotate", 0.0), config.get("zoom", 0.0)
    if translate > 1e-3:
        x = layers.RandomTranslation(translate, translate, fill_mode="constant")(x)
    if rotate > 1e-3:
        x = layers.RandomRotation(rotate, fill_mode="constant")(x)
    if zoom > 1e-3:
        x = layers.RandomZoom(zoom, zoom, fill_mode="constant")(x)
    return x


def _normalise_activate(x, config: Config, layers, dropout: bool):
    if config.get("batch_norm"):
        # Keras' default momentum 0.99 leaves the moving statistics at 1 - 0.99**steps of their start after a
        # short trial (a few hundred steps), and validation then sees chance-level accuracy; 0.9 converges
        # within ~50 steps and is what PyTorch uses.
        x = layers.BatchNormalization(momentum=0.9)(x)
    x = layers.Activation(config["activation"])(x)
    if dropout and config.get("dropout", 0.0) > 0:
        x = layers.Dropout(config["dropout"])(x)
    return x


def _dense_block(x, units: int, config: Config, regularizer, layers):
    x = layers.Dense(units, use_bias=not config.get("batch_norm"), kernel_regularizer=regularizer)(x)
    return _normalise_activate(x, config, layers, dropout=True)


def _conv_body(x, config: Config, regularizer, layers):
    kernel = config["kernel_size"]
    for block, filters in enumerate(config["filters"], start=1):
        for _ in range(config["convs_per_block"]):
            x = layers.Conv2D(
                filters, kernel, padding="same", use_bias=not config.get("batch_norm"), kernel_regularizer=regularizer
            )(x)
            x = _normalise_activate(x, config, layers, dropout=False)
        height, width = x.shape[1], x.shape[2]
        if config["pooling"] == "strided":
            x = layers.Conv2D(filters, 3, strides=2, padding="same", kernel_regularizer=regularizer)(x)
            x = layers.Activation(config["activation"])(x)
        elif min(height, width) < 2:
            raise ValueError(
                f"images too small for {len(config['filters'])} pooling blocks: "
                f"the feature map is {height}x{width} before pooling in block {block}"
            )
        else:
            pool = layers.MaxPooling2D if config["pooling"] == "max" else layers.AveragePooling2D
            x = pool(2)(x)
        if config.get("dropout", 0.0) > 0:
            x = layers.Dropout(config["dropout"])(x)
    x = layers.Flatten()(x) if config["head"] == "flatten" else layers.GlobalAveragePooling2D()(x)
    if config.get("dense_units", 0):
        x = _dense_block(x, config["dense_units"], config, regularizer, layers)
    return x


def _optimizer(config: Config, total_steps: int, keras):
    name = config["optimizer"]
    rate = config["sgd_learning_rate" if name == "sgd" else "learning_rate"]
    if config.get("schedule") == "cosine":
        rate = _cosine_class(keras)(rate, decay_steps=max(1, total_steps))
    elif config.get("schedule") == "wsd":
        rate = _wsd_class(keras)(rate)
    if name == "adam":
        return keras.optimizers.Adam(rate)
    if name == "adamw":
        return keras.optimizers.AdamW(rate, weight_decay=config["weight_decay"])
    if name == "sgd":
        return keras.optimizers.SGD(rate, momentum=config["momentum"], nesterov=True)
    raise ValueError(f"unknown optimizer {name!r}")


def count_flops(model) -> int:
    """Multiply-adds times two per image for Dense and Conv2D layers (the cost that dominates here)."""
    flops = 0
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Dense":
            flops += 2 * int(layer.kernel.shape[0]) * int(layer.kernel.shape[1])
        elif kind == "Conv2D":
            kh, kw, cin, cout = (int(d) for d in layer.kernel.shape)
            _, oh, ow, _ = layer.output.shape
            flops += 2 * kh * kw * cin * cout * int(oh) * int(ow)
    return flops


@lru_cache(maxsize=None)
def _cosine_class(keras):
    """Cosine decay to zero whose length can change during training (``resize_schedule``): a trial that learns
    a few seconds in that its epochs will not fit its cap lays the schedule over the epochs that do."""

    @keras.saving.register_keras_serializable(package="bakeoff")
    class ResizableCosine(keras.optimizers.schedules.LearningRateSchedule):
        def __init__(self, initial_learning_rate: float, decay_steps: float) -> None:
            self.initial_learning_rate = float(initial_learning_rate)
            self.decay_steps = keras.Variable(float(decay_steps), dtype="float32", trainable=False, name="decay_steps")

        def __call__(self, step):
            ops = keras.ops
            progress = ops.minimum(ops.cast(step, "float32") / self.decay_steps, 1.0)
            return self.initial_learning_rate * 0.5 * (1.0 + ops.cos(3.141592653589793 * progress))

        def get_config(self) -> dict[str, float]:
            return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": float(self.decay_steps.numpy())}

    return ResizableCosine


@lru_cache(maxsize=None)
def _wsd_class(keras):
    """Warm-up-stable-decay: the rate climbs linearly over the first ``warmup_steps`` (0: none; ``search.train.rungs``
    sets it), stays constant until told to decay, then falls linearly to zero over ``decay_steps``. The phases' bounds
    are variables, so a compiled training step follows them without being traced again."""

    @keras.saving.register_keras_serializable(package="bakeoff")
    class StableThenDecay(keras.optimizers.schedules.LearningRateSchedule):
        def __init__(self, initial_learning_rate: float, decay_from: float = NEVER, decay_steps: float = 1.0, warmup_steps: float = 0.0) -> None:
            self.initial_learning_rate = float(initial_learning_rate)
            self.decay_from = keras.Variable(float(decay_from), dtype="float32", trainable=False, name="decay_from")
            self.decay_steps = keras.Variable(float(decay_steps), dtype="float32", trainable=False, name="decay_length")
            self.warmup_steps = keras.Variable(float(warmup_steps), dtype="float32", trainable=False, name="warmup_length")

        def __call__(self, step):
            ops = keras.ops
            step = ops.cast(step, "float32")
            warm = ops.minimum((step + 1.0) / ops.maximum(self.warmup_steps, 1.0), 1.0)
            done = ops.maximum(step - self.decay_from, 0.0)
            return self.initial_learning_rate * warm * ops.maximum(1.0 - done / self.decay_steps, 0.0)

        def get_config(self) -> dict[str, float]:
            return {"initial_learning_rate": self.initial_learning_rate, "decay_from": float(self.decay_from.numpy()),
                    "decay_steps": float(self.decay_steps.numpy()), "warmup_steps": float(self.warmup_steps.numpy())}

    return StableThenDecay


#: A decay start no trial reaches: the stable phase of ``StableThenDecay`` goes on.
NEVER = float(2**40)  # exact in float32, so reading it back compares equal


def load_checkpoint(path):
    """A model saved with its optimiser, to train on: the schedules this module defines are registered first, so a
    fresh process can read them back."""
    keras = import_keras()
    _cosine_class(keras), _wsd_class(keras)
    return keras.models.load_model(path)


def resize_schedule(model, total_steps: int) -> bool:
    """Lay a cosine schedule over ``total_steps`` from now on; False for a constant learning rate."""
    schedule = getattr(model.optimizer, "_learning_rate", None)
    if schedule is None or not hasattr(schedule, "decay_steps") or hasattr(schedule, "decay_from"):
        return False
    schedule.decay_steps.assign(float(max(1, total_steps)))
    return True
