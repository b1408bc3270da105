"""The trial record: what a trial's stored attributes mean, owned here and nowhere else.

Both engines write trials through these names and outcomes; the budget, crash recovery, the report, the
test fakes and the benchmarks read them back through these functions, so none of them recognises an outcome
by matching free text, and "how long did this trial take" has one answer. Only Optuna, the standard
library and the light ``objectives`` module are imported: no TensorFlow on this path.
"""

from __future__ import annotations

import base64
import enum
import time
from typing import Any, Iterable

from optuna.trial import FrozenTrial, TrialState

from bakeoff.search.engine.objectives import Limits

# Trial user attributes.
OUTCOME = "outcome"  # an Outcome value, written by the process that ran the trial (or that recovered it)
REASON = "reason"  # one human sentence on why a trial that did not complete ended as it did
START = "start"  # label of a queued starting point ("seed notebook", "recipe"); absent for sampled trials
CONFIG = "config"  # the model configuration the builders read
CURVES = "curves"  # per-epoch metrics of the trial, {"val_accuracy": [...], ...}
EPOCHS_RUN = "epochs_run"
BEST_EPOCH = "best_epoch"
MAX_EPOCHS = "max_epochs"  # the epochs the learning-rate schedule spans (retraining lays it over the same)
FITTED = "fitted"  # says why a trial trained fewer epochs than planned (its time cap)
EPOCH_SECONDS = "projected_epoch_seconds"  # one epoch with validation, at the pace its batches showed
SECONDS = "trial_seconds"  # seconds charged to the budget, written when the trial ends
ALIVE_AT = "alive_at"  # unix time of the trial's last sign of life (epochs and batch polls), for recovery
WORKER = "worker"  # host:pid:start-ticks of the process running it
ENGINE = "engine"
WARM_FROM = "warm_start_from"  # "STUDY#NUMBER": a finished trial of an earlier study, copied in as knowledge
BACKEND = "backend"  # the Keras backend that trained the trial: tensorflow, jax or torch
FIT_SECONDS = "fit_seconds"  # the fit alone, without building and compiling the model
PROJECTED_FIT_SECONDS = "projected_fit_seconds"  # the first projection of the fit, for the epochs it trained
MEAN_EPOCH_SECONDS = "seconds_per_epoch"  # the mean epoch as it ran, compiling included
PEAK_RSS_MB = "peak_rss_mb"
#: A complete trial's validation images right at its best epoch (``pack_correct``): selection compares two trials
#: on the same images with a paired standard error (``search.stats``).
VAL_CORRECT = "val_correct"
#: Per epoch, [images right at the best epoch only, images right at this epoch only]: the retraining epoch rule's
#: paired comparison of each epoch with the best.
VAL_VS_BEST = "val_vs_best"
PARAMS = "params_count"
FLOPS = "flops"
#: The ladder (``--pruner ladder``): which configuration a trial trains (the number of its first trial), the rung it
#: started from (epochs; 0 for a new configuration), the trial whose checkpoint it continues, and its decayed
#: validation score at every rung it has reached, {epochs: score}, earlier trials' rungs included.
LADDER_KEY = "ladder_config"
FROM_EPOCHS = "from_epochs"
CONTINUES = "continues_trial"
RUNG_SCORES = "rung_scores"
CHECKPOINT_EPOCHS = "checkpoint_epochs"  # the epochs of the last checkpoint a ladder trial saved
WARMUP = "warmup_epochs"  # a ladder configuration's warm-up, in epochs of its training set: retraining warms up alike
#: What the trial's model costs to ship (``--objective accuracy,latency`` or ``accuracy,size``; ``search/deploy/cost.py``):
#: {"latency_ms": per image at batch 1, "float32_bytes", "int8_bytes" (size objective), "threads", "machine" (cpu, cores), "seconds"}.
COST = "cost"

# Study user attributes.
VAL_SIZE = "val_size"  # validation images: what a standard error of a validation accuracy is computed from
OBJECTIVES = "objectives"  # ["accuracy"] or ["accuracy", a cost]: what the study's trial values are


class Outcome(str, enum.Enum):
    """How a finished trial ended. The Optuna state follows from it; the budget and the queue read it."""

    COMPLETE = "complete"
    PRUNED = "pruned"  # the pruner judged it below its peers
    OVER_BUDGET = "over budget"  # the family's time budget ran out during it
    TOO_SLOW = "too slow"  # its projected time exceeded the per-trial cap
    DIVERGED = "diverged"  # the loss became NaN
    FAILED = "failed"  # could not be built or trained
    INTERRUPTED = "interrupted"  # a signal, or its process died: it never ran to its end
    SURPLUS = "surplus"  # another worker already held the budget's last trial
    DUPLICATE = "duplicate"  # another worker already took the same rung of the same configuration

    @property
    def counts(self) -> bool:
        """Whether it uses up one of ``--trials``: it ended for a reason of its own."""
        return self not in (Outcome.INTERRUPTED, Outcome.SURPLUS, Outcome.DUPLICATE)

    @property
    def requeue(self) -> bool:
        """Whether its parameters go back to the queue: it never had its chance (a duplicate had it elsewhere)."""
        return self in (Outcome.INTERRUPTED, Outcome.SURPLUS)

    @property
    def state(self) -> TrialState:
        if self is Outcome.COMPLETE:
            return TrialState.COMPLETE
        if self in (Outcome.PRUNED, Outcome.OVER_BUDGET, Outcome.TOO_SLOW, Outcome.DIVERGED):
            return TrialState.PRUNED
        return TrialState.FAIL


def outcome_of(trial: FrozenTrial) -> Outcome | None:
    """The trial's outcome; None while it waits or runs.

    A finished trial without a recorded outcome was failed by someone else than its own process (Optuna's
    heartbeat check after the process died): interrupted.
    """
    if not trial.state.is_finished():
        return None
    recorded = trial.user_attrs.get(OUTCOME)
    if recorded is not None:
        return Outcome(recorded)
    return {TrialState.COMPLETE: Outcome.COMPLETE, TrialState.PRUNED: Outcome.PRUNED}.get(trial.state, Outcome.INTERRUPTED)


def counts(trial: FrozenTrial) -> bool:
    """Whether it uses up one of ``--trials``: it ended for a reason of its own, in this study (a trial copied in
    by ``--warm-start`` was paid for by the earlier study)."""
    outcome = outcome_of(trial)
    return outcome is not None and outcome.counts and WARM_FROM not in trial.user_attrs


def counted(trials: Iterable[FrozenTrial]) -> int:
    return sum(1 for t in trials if counts(t))


def seconds(trial: FrozenTrial) -> float:
    """Seconds this trial is charged: the time it trained, never the time its process lay dead.

    A trial records its own time when it ends. One whose process died is charged up to its last sign of
    life (``ALIVE_AT``), so a crash at 2 am and a resume at 8 am do not bill six hours to one family.
    """
    if not trial.state.is_finished() or trial.datetime_start is None or WARM_FROM in trial.user_attrs:
        return 0.0  # unfinished, or copied in by --warm-start: the earlier study was charged for it
    attrs = trial.user_attrs
    if SECONDS in attrs:
        return float(attrs[SECONDS])
    if OUTCOME not in attrs and trial.state == TrialState.FAIL:
        return seconds_alive(trial)
    if trial.datetime_complete is None:
        return 0.0
    return max(0.0, (trial.datetime_complete - trial.datetime_start).total_seconds())


def seconds_alive(trial: FrozenTrial) -> float:
    """From the trial's start to its last sign of life (0 if it never gave one)."""
    alive = trial.user_attrs.get(ALIVE_AT)
    if alive is None or trial.datetime_start is None:
        return 0.0
    return max(0.0, float(alive) - trial.datetime_start.timestamp())


def spent_seconds(trials: Iterable[FrozenTrial]) -> float:
    return sum(seconds(t) for t in trials)


def now() -> float:
    """The clock of ``ALIVE_AT`` (unix time, comparable with ``datetime_start.timestamp()`` on the same host)."""
    return round(time.time(), 3)


def accuracy(trial: FrozenTrial) -> float | None:
    """The trial's stored validation accuracy, the first of its values in a multi-objective study too (where
    Optuna's ``trial.value`` raises); a pruned trial's is its last reported epoch."""
    return trial.values[0] if trial.values else None


def selectable_value(trial: FrozenTrial) -> float | None:
    """The validation accuracy the search could select this trial by; None for any trial it could not.

    Only a COMPLETE trial counts, for every engine: Optuna stores a pruned trial's last reported epoch as its
    ``value`` and the KerasTuner engine stores none for a cut trial, so code that read ``value`` of every
    finished trial counted results the search never selects ("best so far", "time to target").
    """
    return accuracy(trial) if trial.state == TrialState.COMPLETE else None


def rung_epochs(trial: FrozenTrial) -> int:
    """The deepest rung a ladder trial reached, in epochs (0 for a trial of the epoch-by-epoch engines)."""
    return max(map(int, trial.user_attrs.get(RUNG_SCORES) or {}), default=0)


def selection_depth(trial: FrozenTrial) -> int:
    """What selection ranks a complete trial by before its accuracy: on the single-objective ladder its deepest rung,
    which only the top of each rung reaches; otherwise 0. In a multi-objective study the cheap end of the front
    climbs too: in a 1-hour search a 97.4 % ANN that alone reached 128 epochs would have outranked a 99.2 % one at 32."""
    return 0 if len(trial.values or ()) > 1 else rung_epochs(trial)


def best_trial(trials: Iterable[FrozenTrial], limits: Limits | None = None) -> FrozenTrial | None:
    """The best selectable trial, the one retraining uses: by validation accuracy, the earliest on ties; on the
    single-objective ladder, the best of the highest rung reached (a lucky short run does not beat the
    configurations that earned longer training; ``selection_depth``). With ``limits`` (``--max-latency``,
    ``--max-size``), the best of the trials that meet them."""
    complete = [t for t in trials if selectable_value(t) is not None and (not limits or limits.met(t.user_attrs.get(COST)))]
    return max(complete, key=lambda t: (selection_depth(t), selectable_value(t), -t.number)) if complete else None


def config_of(trial: FrozenTrial) -> dict[str, Any]:
    return trial.user_attrs.get(CONFIG) or dict(trial.params)


def val_curve(trial: FrozenTrial) -> list[float]:
    return list(trial.user_attrs.get(CURVES, {}).get("val_accuracy") or [])


def val_correct(attrs: dict[str, Any], n: int | None) -> Any:
    """The stored per-image validation correctness of a trial (its user attributes), or None: not recorded (the
    KerasTuner engine, older studies) or for another number of images."""
    packed = attrs.get(VAL_CORRECT)
    if packed is None or not n or len(base64.b64decode(packed)) != -(-n // 8):
        return None
    return unpack_correct(packed, n)


def trial_seed(search_seed: int, number: int) -> int:
    """The random seed trial ``number`` of a search with ``--seed search_seed`` trains from (every engine, and the
    benchmarks that train a trial again)."""
    return search_seed * 100_003 + number


def study_name(name: str, family: str) -> str:
    return f"{name}-{family}"


def pack_correct(correct: Any) -> str:
    """Per-image correctness (booleans) as text for JSON and trial attributes: 8 images a byte, base64."""
    import numpy as np

    return base64.b64encode(np.packbits(np.asarray(correct, dtype=bool)).tobytes()).decode("ascii")


def unpack_correct(text: str, n: int) -> Any:
    """The boolean array ``pack_correct`` stored for ``n`` images."""
    import numpy as np

    return np.unpackbits(np.frombuffer(base64.b64decode(text), dtype=np.uint8), count=n).astype(bool)
