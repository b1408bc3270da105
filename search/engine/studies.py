"""One Optuna study per family, in standard storage, created once and resumed ever after.

A study remembers the data, split and space it was searched with (study user attributes); resuming with
other data options or another space is refused, because trials scored on different validation sets, or
drawn from different spaces, cannot be compared or modelled together.
"""

from __future__ import annotations

import json
from typing import Any

import optuna
from optuna.trial import TrialState

from bakeoff.search.engine.objectives import Objectives, stored_objectives
from bakeoff.search.engine.record import CHECKPOINT_EPOCHS, CONTINUES, FROM_EPOCHS, LADDER_KEY, OBJECTIVES, START, WARM_FROM, study_name
from bakeoff.search.engine.strategy import pruner_for, sampler_for
from bakeoff.search.errors import UserError
from bakeoff.spaces import STARTS, Space, start_in

#: Study attributes that must match on resume: the validation set depends on the data ones, and trials trained
#: by another engine or Keras backend are neither timed nor seeded alike (bench/backends.py: 2-5x speed
#: differences), so a time budget and a time to target would mix incomparable seconds.
DATA_KEYS = ("data_sha256", "subset", "val_fraction", "seed", "engine", "backend")
SPACE = "space"
#: Study attribute: the ``--pruner`` it was created with (None for KerasTuner's engine), which a resume without
#: ``--pruner`` keeps.
PRUNER = "pruner"
#: Study attribute: the ``--epochs`` it was created with (on the ladder, its first rung), which a resume without
#: ``--epochs`` keeps.
EPOCHS = "epochs"
#: Study attribute: the earlier study whose trials this one was warm-started with (once, when it was created).
WARM_START = "warm_start"
#: What must match for an earlier study's validation accuracies to mean the same here: the data and its split.
SPLIT_KEYS = ("data_sha256", "subset", "val_fraction", "seed")


def open_study(
    storage: optuna.storages.BaseStorage,
    name: str,
    family: str,
    space: Space,
    attrs: dict[str, Any],
    seed: int,
    starts: bool = True,
    objectives: Objectives = Objectives(),
) -> optuna.Study:
    """Create or resume the family's study; a new study begins with the seed notebook's model and the recipe
    (unless ``starts`` is False), whichever engine searches it, so engines compared on it start from the same points.

    Only the process that creates the study (creation is atomic in the storage) records its attributes and
    enqueues the starts, so workers starting together never queue them twice.
    """
    full = study_name(name, family)
    try:
        study = optuna.create_study(storage=storage, study_name=full, directions=objectives.directions, pruner=pruner_for())
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=full, storage=storage, pruner=pruner_for())
        _check_same_objectives(study, objectives)
        _check_same_data(study, attrs)
        _check_same_space(study, space)
    else:
        for key, value in {**attrs, "family": family, SPACE: space.get_config(), OBJECTIVES: list(objectives.names)}.items():
            study.set_user_attr(key, value)
        for label, start in STARTS[family].items() if starts else ():
            config = start_in(space, start)
            if not space.problems(config):  # a user's space may exclude it
                study.enqueue_trial(space.to_trial_params(config), user_attrs={START: label})
    study.sampler = sampler_for(seed)
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


def objectives_of(study: optuna.Study) -> Objectives:
    """What the study's trial values are (a study made before ``--objective`` existed has one: accuracy)."""
    return stored_objectives(study.user_attrs.get(OBJECTIVES))


def _describe(objectives: Objectives) -> str:
    return "accuracy alone" if not objectives.multi else f"accuracy and {objectives.cost}"


def _check_same_objectives(study: optuna.Study, objectives: Objectives) -> None:
    """Trial values of another objective cannot be modelled or compared together: accuracy alone against accuracy
    and a cost, or two different costs."""
    stored = objectives_of(study)
    if stored != objectives or len(study.directions) != len(objectives.names):
        raise UserError(
            f"study {study.study_name!r} was searched for {_describe(stored)}, not {_describe(objectives)}: re-run with "
            f"--objective {stored.text}, or start a new --study"
        )


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
                "re-run with the same --data/--subset/--seed/--engine/--backend, or start a new --study"
            )



def warm_start_source(storage: optuna.storages.BaseStorage, source: str, name: str, family: str, attrs: dict[str, Any], space: Space,
                      objectives: Objectives = Objectives()) -> optuna.Study:
    """The earlier study ``source`` of ``family``, checked before anything is written: it exists, it is not this
    study, and it was searched on the same data and split (so its validation accuracies are measured on the
    same images) and in the same space."""
    if source == name:
        raise UserError(f"--warm-start {source!r} names this study itself; name an earlier one")
    found = load_existing(storage, source, family)
    if found is None:
        raise UserError(f"no study named {source!r} to warm-start from (looked for {study_name(source, family)} in this storage)")
    for key in SPLIT_KEYS:
        if found.user_attrs.get(key) != attrs.get(key):
            raise UserError(
                f"cannot warm-start from {found.study_name!r}: it was searched with {key}={found.user_attrs.get(key)!r}, this search "
                f"with {attrs.get(key)!r}; its validation accuracies would be measured on other images"
            )
    if _canonical(found.user_attrs.get(SPACE)) != _canonical(space.get_config()):
        raise UserError(f"cannot warm-start from {found.study_name!r}: it was searched in another space")
    if objectives_of(found) != objectives:
        raise UserError(f"cannot warm-start from {found.study_name!r}: it was searched for {_describe(objectives_of(found))}, "
                        f"this search for {_describe(objectives)}")
    return found


#: What a warm-start copy does not keep: the ladder's bookkeeping, whose configuration keys, checkpoints and trial
#: numbers belong to the earlier study (here they would name this study's trials): a copy informs the sampler and
#: the report, it is not a configuration this search continues.
NOT_CARRIED = (LADDER_KEY, FROM_EPOCHS, CONTINUES, CHECKPOINT_EPOCHS)


def _knowledge(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attrs.items() if k not in NOT_CARRIED}


def warm_start(study: optuna.Study, source: optuna.Study) -> int:
    """Copy ``source``'s complete and pruned trials into ``study`` once, marked ``record.WARM_FROM``: the sampler
    learns from them, the budget is not charged for them; the number copied (0 when already done)."""
    done = study.user_attrs.get(WARM_START)
    source_name = source.study_name.rsplit("-", 1)[0]
    if done == source_name:
        return 0
    if done is not None:
        raise UserError(f"study {study.study_name!r} was warm-started from {done!r}, not {source_name!r}; start a new --study")
    copies = [
        optuna.trial.create_trial(
            state=t.state, values=t.values if t.state == TrialState.COMPLETE else None, params=t.params, distributions=t.distributions,
            user_attrs={**_knowledge(t.user_attrs), WARM_FROM: f"{source_name}#{t.number}"}, intermediate_values=t.intermediate_values,
        )
        for t in source.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    ]
    study.add_trials(copies)
    study.set_user_attr(WARM_START, source_name)
    return len(copies)
