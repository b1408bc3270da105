"""One Optuna study per family, in standard storage, created once and resumed ever after.

A study remembers the data, split and space it was searched with (study user attributes); resuming with
other data options or another space is refused, because trials scored on different validation sets, or
drawn from different spaces, cannot be compared or modelled together.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import optuna

from bakeoff.search.errors import UserError
from bakeoff.search.record import START, study_name
from bakeoff.spaces import STARTS, Space

#: Study attributes that must match on resume (the validation set depends on all of them).
DATA_KEYS = ("data_sha256", "subset", "val_fraction", "seed", "engine")
SPACE = "space"


#: Finished trials before TPE models the space (the starts count): a 30-minute CNN search on 2 cores gets
#: about ten trials, and with Optuna's default of ten it would never leave random search.
STARTUP_TRIALS = 5


def sampler_for(study: optuna.Study | None, seed: int) -> optuna.samplers.BaseSampler:
    """Seeded multivariate TPE; the seed moves on with the study so a resumed run never replays draws."""
    done = len(study.get_trials(deepcopy=False)) if study is not None else 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed * 7919 + done,
            multivariate=True,
            group=True,
            constant_liar=True,
            n_startup_trials=STARTUP_TRIALS,
        )


#: Complete trials before the median pruner acts: the two queued starts (seed notebook, recipe) already give
#: reference curves. With five, a 30-minute CNN search let three random trials run all their epochs to end
#: below the seed notebook (10 of its 30 minutes).
PRUNER_STARTUP_TRIALS = 2


def default_pruner() -> optuna.pruners.BasePruner:
    """Median pruning from the second epoch on (the first is too noisy to judge a learning-rate schedule)."""
    return optuna.pruners.MedianPruner(n_startup_trials=PRUNER_STARTUP_TRIALS, n_warmup_steps=1)


def open_study(
    storage: optuna.storages.BaseStorage,
    name: str,
    family: str,
    space: Space,
    attrs: dict[str, Any],
    seed: int,
) -> optuna.Study:
    """Create or resume the family's study; a new study begins with the seed notebook's model and the recipe,
    whichever engine searches it, so engines compared on it start from the same points.

    Only the process that creates the study (creation is atomic in the storage) records its attributes and
    enqueues the starts, so workers starting together never queue them twice.
    """
    full = study_name(name, family)
    try:
        study = optuna.create_study(storage=storage, study_name=full, direction="maximize", pruner=default_pruner())
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=full, storage=storage, pruner=default_pruner())
        _check_same_data(study, attrs)
        _check_same_space(study, space)
    else:
        for key, value in {**attrs, "family": family, SPACE: space.get_config()}.items():
            study.set_user_attr(key, value)
        for label, config in STARTS[family].items():
            if not space.problems(config):  # a user's space may exclude it
                study.enqueue_trial(space.to_trial_params(config), user_attrs={START: label})
    study.sampler = sampler_for(study, seed)
    return study


def load_existing(storage: optuna.storages.BaseStorage, name: str, family: str) -> optuna.Study | None:
    """The family's study if it exists, without creating anything."""
    full = study_name(name, family)
    if full not in {s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)}:
        return None
    return optuna.load_study(study_name=full, storage=storage)


def require_studies(storage: optuna.storages.BaseStorage, name: str, families: tuple[str, ...]) -> dict[str, optuna.Study]:
    """The studies of ``name`` that exist; a clear error when none do."""
    studies = {f: s for f in families if (s := load_existing(storage, name, f)) is not None}
    if not studies:
        known = sorted({s.study_name.rsplit("-", 1)[0] for s in optuna.get_all_study_summaries(storage, False)})
        hint = f"; studies here: {', '.join(known)}" if known else "; this storage holds no studies"
        raise UserError(f"no study named {name!r} (looked for {', '.join(study_name(name, f) for f in families)}){hint}")
    return studies


def _check_same_space(study: optuna.Study, space: Space) -> None:
    stored = study.user_attrs.get(SPACE)
    if stored is not None and _canonical(stored) != _canonical(space.get_config()):
        raise UserError(
            f"study {study.study_name!r} was searched in another space: re-run with the --space it was started "
            "with (none for the defaults), or start a new --study"
        )


def _canonical(config: Any) -> str:
    return json.dumps(config, sort_keys=True, default=str)


def _check_same_data(study: optuna.Study, attrs: dict[str, Any]) -> None:
    stored = study.user_attrs
    if not stored:
        return
    for key in DATA_KEYS:
        if key in stored and stored[key] != attrs.get(key):
            raise UserError(
                f"study {study.study_name!r} was searched with {key}={stored[key]!r}, not {attrs.get(key)!r}: "
                "re-run with the same --data/--subset/--seed/--engine, or start a new --study"
            )

