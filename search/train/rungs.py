"""Judge a model at a rung without ending its run: a short decay on a copy of its state (warm-up-stable-decay).

A trial trains at a constant learning rate (the stable phase, ``schedule = "wsd"``). To be scored at a rung it
branches: the rate falls linearly to zero over ``DECAY_SHARE`` of the steps trained so far, the model is
validated, and its weights and optimiser state go back to where the branch began. The stable run then continues,
so a configuration promoted to a longer rung goes on from its checkpoint instead of starting again, and its score
at every rung is that of a run of that length whose rate was decayed at the end (Hägele et al., 2024: such runs
match a cosine schedule laid over the same length). A constant-rate run judged without its decay ranks large
rates below where they end, which is what punishes slow starters.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from bakeoff.search.train.builders import NEVER
from bakeoff.search.train.fit import fit_arrays, one_hot, steps_per_epoch, validation_pass

#: The decay's length as a share of the steps trained before it (10-20 % in the WSD literature).
DECAY_SHARE = 0.2
#: A new ladder configuration's rate climbs linearly over this share of its first epoch (``bench/warmup.py``).
WARMUP_EPOCHS = 0.2


def with_decay(seconds: float) -> float:
    """Seconds of training plus the decay that scores it: what the ladder plans a segment at (decisions and the replay)."""
    return seconds * (1 + DECAY_SHARE)


@dataclass(frozen=True)
class Decayed:
    correct: np.ndarray  # which validation images the decayed model got right
    loss: float
    steps: int  # training steps of the decay
    seconds: float  # the decay and its validation

    @property
    def accuracy(self) -> float:
        return float(self.correct.mean())


def warm_up(model, steps: int) -> None:
    """Let ``model``'s rate climb linearly over its first ``steps`` (0: start at the full rate), before it trains."""
    schedule = getattr(model.optimizer, "_learning_rate", None)
    if not hasattr(schedule, "warmup_steps"):
        raise ValueError("a warm-up needs the stable-then-decay schedule (schedule = 'wsd')")
    schedule.warmup_steps.assign(float(steps))


def decay_steps(steps_done: int) -> int:
    return max(1, math.ceil(DECAY_SHARE * steps_done))


def decay(model, x: np.ndarray, y: np.ndarray, *, batch_size: int, seed: int) -> int:
    """End ``model``'s stable phase: its rate falls linearly to zero over ``DECAY_SHARE`` of the steps trained so far
    (what retraining does after the rung's epochs, and what a rung's score is taken after). Returns the steps."""
    optimizer = model.optimizer
    schedule = getattr(optimizer, "_learning_rate", None)
    if not hasattr(schedule, "decay_from"):
        raise ValueError("a decay needs the stable-then-decay schedule (schedule = 'wsd')")
    steps = decay_steps(int(optimizer.iterations.numpy()))
    schedule.decay_from.assign(float(optimizer.iterations.numpy()))
    schedule.decay_steps.assign(float(steps))
    _train_steps(model, x, y, steps, batch_size, np.random.default_rng(seed))
    return steps


def decayed_validation(model, x: np.ndarray, y: np.ndarray, validation: tuple[np.ndarray, np.ndarray], *, batch_size: int, seed: int) -> Decayed:
    """Decay a copy of ``model``'s run, validate it, and put the run back as it was (weights, optimiser, step)."""
    started = time.perf_counter()
    optimizer = model.optimizer
    schedule = getattr(optimizer, "_learning_rate", None)
    if not hasattr(schedule, "decay_from"):
        raise ValueError("a decayed validation needs the stable-then-decay schedule (schedule = 'wsd')")
    saved = [v.numpy() for v in model.weights], [v.numpy() for v in optimizer.variables]
    try:
        steps = decay(model, x, y, batch_size=batch_size, seed=seed)
        correct, loss = validation_pass(model, *validation)
    finally:
        for variable, value in zip(model.weights, saved[0]):
            variable.assign(value)
        for variable, value in zip(optimizer.variables, saved[1]):
            variable.assign(value)
        schedule.decay_from.assign(NEVER)
    return Decayed(correct, loss, steps, time.perf_counter() - started)


def _train_steps(model, x: np.ndarray, y: np.ndarray, steps: int, batch_size: int, rng: np.random.Generator) -> None:
    """``steps`` optimisation steps over shuffled passes of the training images: whole passes, then a random part."""
    num_classes = int(model.output_shape[-1])
    whole, rest = divmod(steps, steps_per_epoch(len(x), batch_size))
    if whole:
        fit_arrays(model, x, one_hot(y, num_classes), batch_size=batch_size, epochs=whole, verbose=0)
    if rest:
        pick = rng.choice(len(x), size=min(len(x), rest * batch_size), replace=False)
        fit_arrays(model, x[pick], one_hot(y[pick], num_classes), batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
