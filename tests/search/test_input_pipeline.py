"""bakeoff's input pipeline on TensorFlow: every image once per pass in a new order, no tf.data autotuning (whose
thread stalled the start of epochs), and a fit through it trains exactly the steps of a fit on arrays."""

import numpy as np

from bakeoff.search.data import load_dataset
from bakeoff.search.train.backend import import_keras
from bakeoff.search.train.builders import build_model
from bakeoff.search.train.fit import fit, release_models, steps_per_epoch, training_batches
from bakeoff.search.train.settings import Speed
from bakeoff.spaces import BASELINES


def _tensorflow() -> bool:
    return import_keras().backend.backend() == "tensorflow"


def test_each_pass_holds_every_image_once_with_its_label_in_a_new_order():
    x = np.arange(10, dtype=np.float32).reshape(10, 1)  # each image's value is its index, and so is its label
    targets = np.eye(10, dtype=np.float32)
    batches = training_batches(x, targets, 4)
    if not _tensorflow():  # other backends take the arrays
        assert batches is None
        return
    assert batches.options().autotune.enabled is False
    assert [len(images) for images, _ in batches] == [4, 4, 2]  # the last batch is short, as Keras' own is
    passes = []
    for _ in range(4):
        pairs = [(images.numpy()[:, 0], labels.numpy().argmax(axis=1)) for images, labels in batches]
        order = np.concatenate([images for images, _ in pairs])
        assert all(np.array_equal(images, labels) for images, labels in pairs)
        assert sorted(order.tolist()) == list(range(10))
        passes.append(order.tolist())
    assert len({tuple(p) for p in passes}) > 1  # reshuffled between passes
    in_order = training_batches(x, targets, 4, shuffle=False)
    assert np.concatenate([images.numpy()[:, 0] for images, _ in in_order]).tolist() == list(range(10))


def test_a_fit_trains_every_step_of_its_epochs_with_several_steps_per_call():
    data = load_dataset("digits")
    release_models()
    import_keras().utils.set_random_seed(0)
    batch = 32
    per_epoch = steps_per_epoch(len(data.x_train), batch)
    assert per_epoch % 4 != 0  # the epoch's last call of 4 steps is a short one
    model = build_model({**BASELINES["ann"], "units": [32, 16], "batch_size": batch}, "ann", data.input_shape, data.num_classes, 3 * per_epoch,
                        Speed(steps_per_execution=4))
    result = fit(model, data.x_train, data.y_train, epochs=3, batch_size=batch, validation=(data.x_val, data.y_val))
    assert int(model.optimizer.iterations.numpy()) == 3 * per_epoch
    assert result.epochs == 3 and result.history["val_accuracy"][-1] > 0.5
