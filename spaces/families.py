"""The default ANN and CNN spaces, the seed notebook's two models as points of them, and user space files.

Both families share the training parameters (optimiser, schedule, batch size, regularisation,
augmentation), so a difference between the families comes from the architecture, not from one family
being allowed a better optimiser.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from bakeoff.spaces.errors import SpaceError
from bakeoff.spaces.params import Bool, Choice, Fixed, Float, Int, Param
from bakeoff.spaces.space import Config, Space

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FAMILIES = ("ann", "cnn")


def _training_params() -> tuple[Param, ...]:
    return (
        Choice("activation", values=("relu", "gelu", "silu")),
        Float("dropout", 0.0, 0.5),
        Bool("batch_norm"),
        Bool("l2_penalty"),
        Float("l2", 1e-6, 1e-2, log=True, when={"l2_penalty": True}),
        Choice("optimizer", values=("adam", "adamw", "sgd")),
        # Each optimiser gets the rates at which it learns (bench/lr_ranges.py, bench/README.md): Adam and AdamW
        # come within 2 points of their best from 1e-3 to 3e-2 in 3 epochs and still learn at 3e-4 given longer;
        # SGD with Nesterov momentum 0.9 only from 0.03 (ANN to 0.3, CNN to 0.1), and below 0.005 it does not
        # learn in a short trial. One shared range spent a third of SGD's draws in that dead region.
        Float("learning_rate", 3e-4, 3e-2, log=True, when={"optimizer": ("adam", "adamw")}),
        Float("sgd_learning_rate", 1e-2, 0.2, log=True, when={"optimizer": "sgd"}),
        # Capped at 0.95: the step SGD takes grows as rate / (1 - momentum), and 0.99 multiplies it by 100.
        Float("momentum", 0.8, 0.95, when={"optimizer": "sgd"}),
        Float("weight_decay", 1e-5, 1e-2, log=True, when={"optimizer": "adamw"}),
        Choice("schedule", values=("constant", "cosine")),
        Choice("batch_size", values=(32, 64, 128, 256, 512)),
        Float("label_smoothing", 0.0, 0.2),
        Bool("augment"),
        Float("translate", 0.0, 0.15, when={"augment": True}),
        Float("rotate", 0.0, 0.08, when={"augment": True}),
        Float("zoom", 0.0, 0.15, when={"augment": True}),
    )


ANN = Space(
    "ann",
    (
        Int("hidden_layers", 1, 4),
        Int("units", 32, 2048, log=True, repeat="hidden_layers"),
        *_training_params(),
    ),
)

# Sized for a CPU: on 2 cores a 3-block CNN with 2 convs of 128 filters per block already takes minutes per
# MNIST epoch, so wider defaults would spend a short budget on a handful of trials; widen them with --space.
CNN = Space(
    "cnn",
    (
        Int("conv_blocks", 1, 3),
        Int("filters", 16, 128, log=True, repeat="conv_blocks"),
        Choice("kernel_size", values=(3, 5)),
        Int("convs_per_block", 1, 2),
        Choice("pooling", values=("max", "avg", "strided")),
        Choice("head", values=("flatten", "gap")),
        Choice("dense_units", values=(0, 64, 128, 256, 512)),
        *_training_params(),
    ),
)

_COMMON_BASELINE: Config = {
    "activation": "relu",
    "dropout": 0.0,
    "batch_norm": False,
    "l2_penalty": False,
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "schedule": "constant",
    "batch_size": 32,
    "label_smoothing": 0.0,
    "augment": False,
}

#: The seed notebook's models: ANN Dense 128-64, CNN Conv 28-MaxPool-Conv 64-MaxPool-Dense 64.
BASELINES: dict[str, Config] = {
    "ann": {"hidden_layers": 2, "units": [128, 64], **_COMMON_BASELINE},
    "cnn": {
        "conv_blocks": 2,
        "filters": [28, 64],
        "kernel_size": 3,
        "convs_per_block": 1,
        "pooling": "max",
        "head": "flatten",
        "dense_units": 64,
        **_COMMON_BASELINE,
    },
}

_RECIPE_TRAINING: Config = {
    "activation": "relu",
    "dropout": 0.2,
    "l2_penalty": False,
    "optimizer": "adam",
    "learning_rate": 2e-3,
    "schedule": "cosine",
    "batch_size": 128,
    "label_smoothing": 0.1,
    "augment": True,
    "translate": 0.1,
    "rotate": 0.03,
    "zoom": 0.1,
}

#: A textbook recipe per family (batch norm for the CNN, dropout, Adam with cosine decay, label smoothing,
#: small shifts, rotations and zooms), chosen from common practice, never from test results. A short search
#: starts from it instead of from random draws; it must still earn its place on validation accuracy.
RECIPES: dict[str, Config] = {
    "ann": {"hidden_layers": 2, "units": [1024, 1024], **_RECIPE_TRAINING, "batch_norm": False,
            "learning_rate": 1e-3, "translate": 0.06, "rotate": 0.02, "zoom": 0.05},
    # Three blocks, not the textbook two: the third works on 7x7 maps, where multiply-adds are cheap on a CPU
    # (bench/starts.py: 1.11x the time of Conv 32-Pool-Conv 64-Pool for 99.58 % against 99.33 % validation).
    # No batch normalisation: it costs a float32 CPU about half the speed and rules out bf16 (search/train/speed.py).
    # Under the 112 s cap of a 15-minute run it reached 99.38 % validation in 5 epochs against 99.13 % in 3 with
    # batch norm; over 15 full epochs 99.53 % against 99.58 % (bench/results/starts_cnn*.json).
    "cnn": {
        "conv_blocks": 3,
        "filters": [32, 64, 128],
        "kernel_size": 3,
        "convs_per_block": 1,
        "pooling": "max",
        "head": "flatten",
        "dense_units": 128,
        **_RECIPE_TRAINING,
        "batch_norm": False,
    },
}

#: The trials every new Optuna study begins with, in order, labelled in the ``start`` user attribute.
STARTS: dict[str, dict[str, Config]] = {f: {"seed notebook": BASELINES[f], "recipe": RECIPES[f]} for f in FAMILIES}

DEFAULT_SPACES: dict[str, Space] = {"ann": ANN, "cnn": CNN}

#: The ladder's schedule (``--pruner ladder``): a constant rate, decayed at the end of each rung's run.
LADDER_SCHEDULE = "wsd"


def on_the_ladder(space: Space) -> Space:
    """The space as the ladder searches it: its trials continue from rung to rung, so the schedule is the ladder's
    (a cosine laid over a fixed length cannot be continued)."""
    return space.with_overrides({"schedule": LADDER_SCHEDULE})


def laddered(space: Space) -> bool:
    """Whether ``space`` is one the ladder searches (``on_the_ladder``): its schedule pinned to the ladder's."""
    pinned = space["schedule"]
    return isinstance(pinned, Fixed) and pinned.value == LADDER_SCHEDULE


def start_in(space: Space, config: Config) -> Config:
    """A start as ``space`` trains it: on the ladder, with the ladder's schedule."""
    return {**config, "schedule": LADDER_SCHEDULE} if laddered(space) else config


def load_space_file(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read a user TOML file of per-family overrides, e.g. ``[cnn] conv_blocks = {high = 3}``."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise SpaceError(f"space file {path} does not exist") from None
    except IsADirectoryError:
        raise SpaceError(f"space file {path} is a directory, not a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpaceError(f"space file {path} is not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpaceError(f"space file {path} cannot be read: {exc}") from None
    for family, table in data.items():
        if family not in FAMILIES:
            raise SpaceError(f"space file {path}: unknown section [{family}]; use [ann] and/or [cnn]")
        if not isinstance(table, dict):
            raise SpaceError(f"space file {path}: [{family}] must be a table of parameters")
    return data


def get_spaces(space_file: str | Path | None = None) -> dict[str, Space]:
    """The default spaces with the user's overrides applied; errors name the file."""
    if space_file is None:
        return dict(DEFAULT_SPACES)
    overrides = load_space_file(space_file)
    try:
        return {f: DEFAULT_SPACES[f].with_overrides(overrides.get(f, {})) for f in FAMILIES}
    except SpaceError as exc:
        raise SpaceError(f"space file {space_file}: {exc}") from None
