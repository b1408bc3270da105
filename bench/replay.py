"""Replay search strategies against recorded learning curves: many repetitions in minutes, like for like.

Real searches on 2 cores give a CNN a handful of trials per hour, too few to tell strategies apart. Like the
tabular HPO benchmarks (LCBench, HPOBench, YAHPO), this replays each strategy against curves recorded once by real
training (``record_curves.py``: the starts and uniform draws from the default space, full MNIST), charging each
trial the seconds its epochs, its compiling and its decays took when recorded, with the same starts, the same
per-family budget and the same per-trial cap (``TRIAL_SHARE``) as ``bakeoff search``. Only selectable trials count.

Strategies:
- ``median``: Optuna's TPE (multivariate, the engine's start-up) with the median pruner (2 start-up trials, judged from
  epoch 2), 15 epochs at a constant rate, a trial's value its best epoch: the engine's default until 2026-12-05.
- ``random``: uniform draws, 15 epochs each, no pruning.
- ``hyperband``: KerasTuner's own ``HyperbandOracle`` (factor 3, 15 epochs, as ``--engine kerastuner``); a
  continuation loads its parent and trains on, paying the parent's compile cost again.
- ``ladder-K``: asynchronous successive halving with factor K over rungs 1, 2, 4, 8, 16 epochs (1, 4, 16 for K=4),
  scored at each rung after a decay (``search/train/rungs.py``); a configuration in the top 1/K of its rung goes on
  at once (same model) when the next rung fits the cap, one that gets there later continues from its checkpoint
  (compile cost again); TPE proposes new configurations, ordering pruned ones by how far they got. A new sampled
  configuration whose first rung would take more than 1/16 of the budget is stopped by its pace within seconds
  (the engine's ``FIRST_RUNG_PARTS``); ``ladder-2-any`` drops that limit, ``ladder-2-1/8`` allows twice as much and
  ``ladder-2-1/32`` half. The starts follow the deepest rung a sampled configuration reached, whatever their rank
  (the engine's rule since 2026-12-06, ``lead``); ``ladder-2-chase`` has them follow the deepest rung of any
  configuration, so they lead each other up (the rule from 2026-12-05), ``ladder-2-trail`` never promotes them by
  rank, and ``ladder-2-judged`` judges them by rank like any configuration (the rule before 2026-12-05).
  ``ladder-2-best`` ships the best configuration at any depth instead of the best of the highest rung.

The record holds constant-rate runs and their decays, without the ladder's warm-up (2026-12-06; ``warmup.py``): a
configuration that stayed at chance there may learn in today's engine. It holds no cosine runs: ``median``, ``random`` and ``hyperband`` are
replayed at a constant rate, where a real trial with a cosine schedule would end its last epochs a little higher.
The comparison with real runs measures how much that matters: last, the replay is checked against every real
search recorded by ``accuracy_at_budget.py`` on the record's CPU at the same budget (``real_checks``: trials, best
validation accuracy, whether a start won, each against the replay's range over repetitions).

A sampler's proposal is snapped to the nearest unused recorded configuration (normalised distance, log scale
where the space says so), so model-based samplers act on what the record holds; random draws from the record
are uniform draws from the space, since the record is one.

Every accuracy in the record comes in two halves of the validation images. Strategies select on one (the first in
even repetitions, the second in odd ones, the same for every strategy in a repetition, so the spread over
repetitions includes the luck of the halves and not only the strategy's own randomness); the
configuration a strategy would ship at each moment is judged on the other, after a decay, at the epochs its
retraining trains: for the ladder the rung it reached, for whole trials the deepest rung recorded (16 epochs for
their 15): a strategy gains nothing from the luck of the images it selected on. Where a
strategy asks for epochs the record does not hold (it records deep only the better half of each rung), the trial
ends where the record does and the replay counts it ("holes"). Where a strategy has tried every recorded
configuration with budget left, its search ends there ("record ran out"): a verdict about that strategy would be
one about the record's size, so its goals read "not shown".

Below the table, issue 26's goals for the default strategy against ``hyperband`` and ``random`` (``goals``): "met"
only when the whole 95 % interval of paired differences clears the goal, "missed" when it falls short, else "not
shown" (also when either side ran out of the record in any repetition).

    python bench/replay.py [--budget 1800] [--reps 30] [--strategies median,random,hyperband,ladder-2,ladder-4]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import math
import statistics
import subprocess
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bakeoff.search.engine.ladder import STARTS_RULE
from bakeoff.search.engine.strategy import DEFAULT_PRUNER, FIRST_RUNG_PARTS, LADDER, LADDER_FACTOR
from bakeoff.search.train.pace import PACE_SECONDS
from bakeoff.search.train.rungs import with_decay
from bakeoff.search.train.speed import STEPS_PER_EXECUTION

from common import RESULTS, ROOT, interval_text, mean_interval, record

CURVES = RESULTS / "curves"
FRACTIONS = (0.25, 0.5, 0.75, 1.0)
EPOCHS = 15
#: Training images of the record (full MNIST less 10 % validation, as ``record_curves.py`` trains): the steps an epoch takes.
TRAIN_IMAGES = 54_000
#: The engine's per-trial cap, as a share of the family's budget (``search.engine.budget.TRIAL_SHARE``).
TRIAL_SHARE = 0.25


@dataclass
class Curve:
    """One recorded configuration."""

    index: int
    start: str
    config: dict
    trunk: list[list[float]]
    epoch_seconds: list[float]
    decayed: dict[int, list[float]]
    decay_seconds: dict[int, float]
    build_seconds: float
    failed: bool
    diverged: bool

    @classmethod
    def from_row(cls, row: dict) -> "Curve":
        return cls(row["index"], row["start"], row["config"], row["trunk"], row["epoch_seconds"],
                   {int(k): v for k, v in row["decayed"].items()}, {int(k): v for k, v in row["decay_seconds"].items()},
                   row.get("build_seconds", 0.0), str(row.get("stopped") or "").startswith("failed"),
                   str(row.get("stopped") or "").startswith("diverged"))

    @property
    def depth(self) -> int:
        return len(self.trunk)

    def halves_swapped(self) -> "Curve":
        """The same run selecting on the other half of the validation images and judged on the first."""
        return dataclasses.replace(self, trunk=[pair[::-1] for pair in self.trunk],
                                   decayed={k: pair[::-1] for k, pair in self.decayed.items()})

    def epoch(self, e: int) -> float:
        """Selection half's accuracy after epoch ``e`` (1-based) of the constant-rate run."""
        return self.trunk[e - 1][0]

    def cost(self, first: int, last: int) -> float:
        """Seconds of epochs ``first+1 .. last``."""
        return float(sum(self.epoch_seconds[first:last]))

    @property
    def compile_seconds(self) -> float:
        """What a continuation pays again to trace and compile: the first epoch beyond a later one."""
        if len(self.epoch_seconds) < 2:
            return self.build_seconds
        return self.build_seconds + max(0.0, self.epoch_seconds[0] - statistics.median(self.epoch_seconds[1:]))

    @property
    def quality(self) -> float | None:
        """Held-out half, decayed, at the deepest recorded rung: what shipping this configuration is worth."""
        return self.decayed[max(self.decayed)][1] if self.decayed else None


@dataclass
class Run:
    """One replayed search: the moments its shippable choice changed."""

    budget: float
    spent: float = 0.0
    trials: int = 0
    holes: int = 0
    ran_out: bool = False  # budget was left, but the record held no configuration the strategy had not tried
    changes: list[tuple[float, float | None, bool]] = field(default_factory=list)  # (time, quality, is a start)
    incumbent: tuple[float, int] | None = None  # (selection score, index)

    def left(self) -> float:
        return self.budget - self.spent

    def offer(self, score: float, curve: Curve) -> None:
        """A selectable result: it becomes the choice when its selection score beats the current one."""
        if self.incumbent is None or score > self.incumbent[0]:
            self.choose(score, curve)

    def choose(self, score: float, curve: Curve, quality: float | None = None) -> None:
        """The strategy's own choice (the ladder ships the best of its highest rung, whatever earlier rungs held),
        worth ``quality`` (default: the configuration's ``quality``; the ladder's: at the rung it reached, the
        epochs its retraining trains)."""
        quality = curve.quality if quality is None else quality
        if not self.changes or self.changes[-1][1:] != (quality, curve.start != "sampled") or self.incumbent[1] != curve.index:
            self.changes.append((self.spent, quality, curve.start != "sampled"))
        self.incumbent = (score, curve.index)

    def at(self, fraction: float) -> float | None:
        """Quality of the choice at ``fraction`` of the budget (None before the first selectable result)."""
        found = None
        for moment, quality, _ in self.changes:
            if moment <= fraction * self.budget + 1e-9:
                found = quality
        return found

    def start_won(self) -> bool:
        return bool(self.changes) and self.changes[-1][2]


class Pool:
    """The recorded configurations of one family, drawn without replacement."""

    def __init__(self, curves: list[Curve], space) -> None:
        self.curves, self.space = curves, space
        self.used: set[int] = set()
        self.vectors = [self._vector(c.config) for c in curves]

    def starts(self) -> list[Curve]:
        return [c for c in self.curves if c.start != "sampled"]

    def take(self, curve: Curve) -> Curve:
        self.used.add(curve.index)
        return curve

    def random(self, rng: np.random.Generator) -> Curve | None:
        free = [c for c in self.curves if c.index not in self.used and c.start == "sampled"]
        return self.take(free[int(rng.integers(len(free)))]) if free else None

    def nearest(self, config: dict) -> Curve | None:
        target = self._vector(config)
        best, best_d = None, math.inf
        for curve, vector in zip(self.curves, self.vectors):
            if curve.index in self.used or curve.start != "sampled":
                continue
            keys = set(target) | set(vector)
            d = sum(_gap(target.get(k), vector.get(k)) for k in keys)
            if d < best_d:
                best, best_d = curve, d
        return self.take(best) if best else None

    def _vector(self, config: dict) -> dict:
        """Each active parameter as a number in [0, 1] (ranges, log where log) or a category."""
        from bakeoff.spaces.params import Float, Int

        flat = {}
        for name, value in self.space.to_trial_params(config).items():
            param = self.space[name.rsplit("_", 1)[0]] if name not in self.space.names else self.space[name]
            if isinstance(param, (Int, Float)) and not isinstance(value, bool):
                low, high = (math.log(param.low), math.log(param.high)) if param.log else (param.low, param.high)
                x = math.log(value) if param.log else value
                flat[name] = 0.0 if high == low else (x - low) / (high - low)
            else:
                flat[name] = ("category", value)
        return flat


def _gap(a, b) -> float:
    if a is None or b is None:
        return 1.0
    if isinstance(a, tuple) or isinstance(b, tuple):
        return 0.0 if a == b else 1.0
    return abs(a - b)


def _study(sampler, pruner=None):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner or optuna.pruners.NopPruner())


def _tpe(seed: int):
    import optuna

    return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, n_startup_trials=5)


def _propose(study, pool: Pool, rng: np.random.Generator, model_based: bool) -> Curve | None:
    """The next sampled configuration: the sampler's proposal snapped to the record (or a uniform draw)."""
    import optuna

    if not model_based:
        return pool.random(rng)
    trial = study.ask()
    proposal = pool.space.sample(trial)
    study.tell(trial, state=optuna.trial.TrialState.FAIL)  # the proposal itself is not a result
    return pool.nearest(proposal)


def _enqueued(study, pool: Pool, curve: Curve):
    study.enqueue_trial(pool.space.to_trial_params(curve.config))
    trial = study.ask()
    pool.space.sample(trial)
    return trial


def _cap(run: Run) -> float:
    return min(run.budget * TRIAL_SHARE, run.left())


def trunk_search(pool: Pool, run: Run, rng, *, model_based: bool, median: bool) -> None:
    """``median`` and ``random``: whole trials of ``EPOCHS`` constant-rate epochs, optionally median-pruned."""
    import optuna

    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1) if median else None
    study = _study(_tpe(int(rng.integers(2**31))) if model_based else optuna.samplers.RandomSampler(0), pruner)
    queue = pool.starts()
    while run.left() > 0:
        curve = pool.take(queue.pop(0)) if queue else _propose(study, pool, rng, model_based)
        if curve is None:
            run.ran_out = True
            break
        trial = _enqueued(study, pool, curve)
        run.trials += 1
        cap, spent, best = _cap(run), curve.build_seconds, None
        if curve.failed:
            run.spent += spent
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        state, capped = optuna.trial.TrialState.COMPLETE, False
        for e in range(1, min(EPOCHS, curve.depth) + 1):
            step = curve.epoch_seconds[e - 1]
            if spent + step > cap:
                # The pace fits the epochs into the cap; not even one: too slow, cut after half an epoch.
                capped = True
                if e == 1:
                    state, spent = optuna.trial.TrialState.PRUNED, spent + min(step / 2, max(0.0, cap - spent))
                break
            spent += step
            score = curve.epoch(e)
            best = score if best is None else max(best, score)
            trial.report(score, e - 1)
            if trial.should_prune():
                state = optuna.trial.TrialState.PRUNED
                break
        if curve.diverged and state == optuna.trial.TrialState.COMPLETE and not capped:
            state = optuna.trial.TrialState.PRUNED  # its loss became NaN within the epochs it trained
        elif state == optuna.trial.TrialState.COMPLETE and not capped and curve.depth < EPOCHS:
            run.holes += 1  # it would have trained on: the record stops here, and so does the trial
        over = run.spent + spent > run.budget
        run.spent = min(run.budget, run.spent + spent)
        if over or state != optuna.trial.TrialState.COMPLETE or best is None:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            continue
        study.tell(trial, best)
        run.offer(best, curve)


def hyperband(pool: Pool, run: Run, rng, *, factor: int = 3) -> None:
    """KerasTuner's Hyperband oracle choosing among the record (after the same starts as every strategy)."""
    import keras_tuner as kt

    for curve in pool.starts():  # the runner trains the queued starts first for both engines
        _whole(pool.take(curve), run)
    hp = kt.HyperParameters()
    free = [c for c in pool.curves if c.start == "sampled"]
    hp.Int("config", 0, len(free) - 1)
    with tempfile.TemporaryDirectory() as folder:
        oracle = kt.oracles.HyperbandOracle(objective=kt.Objective("score", "max"), max_epochs=EPOCHS, factor=factor,
                                            hyperband_iterations=1000, seed=int(rng.integers(2**31)), hyperparameters=hp)
        oracle._set_project_dir(folder, "replay")
        oracle.verbose = 0
        while run.left() > 0:
            trial = oracle.create_trial("replay")
            if trial.status != "RUNNING":  # no untried value of the record left for it
                run.ran_out = True
                break
            values = trial.hyperparameters.values
            curve = free[values["config"]]
            start, end = values["tuner/initial_epoch"], values["tuner/epochs"]
            spent = curve.build_seconds if "tuner/trial_id" not in values else curve.compile_seconds
            run.trials += 1
            if curve.failed:
                run.spent += spent
                trial.status = "FAILED"
                oracle.end_trial(trial)
                continue
            if end > curve.depth:
                run.holes += 1
            last, best = min(end, curve.depth), None
            for e in range(start + 1, last + 1):
                spent += curve.epoch_seconds[e - 1]
                best = max(best or 0.0, curve.epoch(e))
                oracle.update_trial(trial.trial_id, {"score": curve.epoch(e)}, step=e)
            over = run.spent + spent > run.budget or spent > _cap(run)
            run.spent = min(run.budget, run.spent + spent)
            if best is None or over:
                trial.status = "FAILED"
                oracle.end_trial(trial)
                continue
            trial.status = "COMPLETED"
            oracle.end_trial(trial)
            run.offer(best, curve)


def _whole(curve: Curve, run: Run) -> None:
    """A start trained as a trial of ``EPOCHS`` epochs (its best epoch selectable), within the cap."""
    spent, best = curve.build_seconds, None
    run.trials += 1
    for e in range(1, min(EPOCHS, curve.depth) + 1):
        if spent + curve.epoch_seconds[e - 1] > _cap(run):
            break
        spent += curve.epoch_seconds[e - 1]
        best = max(best or 0.0, curve.epoch(e))
    run.spent = min(run.budget, run.spent + spent)
    if best is not None and run.spent < run.budget:
        run.offer(best, curve)


def _first_rung_cut(curve: Curve) -> float:
    """Seconds a first rung that will not fit is charged before the pace stops it: compiling, one call of
    ``STEPS_PER_EXECUTION`` steps to set the mark, then ``PACE_SECONDS`` or one more call, whichever is longer
    (``search/train/pace.py``); never more than the epoch."""
    steps = math.ceil(TRAIN_IMAGES / curve.config["batch_size"])
    compile_ = curve.compile_seconds - curve.build_seconds
    step = max(0.0, curve.epoch_seconds[0] - compile_) / steps
    call = STEPS_PER_EXECUTION * step
    return curve.build_seconds + min(curve.epoch_seconds[0], compile_ + call + max(PACE_SECONDS, call))


def _fits(curve: Curve, spent: float, done: int, epochs: int, cap: float) -> bool:
    """The engine's check before a next rung (``ladder_trial``), ``spent`` seconds into the trial: the segment at the
    pace of its epochs so far, with its decay, within the cap."""
    pace = statistics.median(curve.epoch_seconds[:done])
    return spent + with_decay((epochs - done) * pace) <= cap


def _best_anywhere(configs: list) -> object | None:
    """An alternative to the engine's choice (``ladder.incumbent``): the best score of any configuration at its own
    deepest rung, however deep, where the engine takes the best of the highest rung reached."""
    scored = [c for c in configs if c.rung >= 0]
    return min(scored, key=lambda c: (-c.scores[c.rung], c.key)) if scored else None


def ladder(pool: Pool, run: Run, rng, *, factor: int, parts: int = FIRST_RUNG_PARTS, choose=None, rule: str | None = None) -> None:
    """Asynchronous successive halving over decayed rung scores with continuation: the engine's own decisions
    (``search/engine/ladder.py``, ``ladder_trial.py``) on the recorded curves. A new sampled configuration whose
    first rung would take more than ``1/parts`` of the budget (or any whose first rung would pass the cap) is
    stopped by its pace (``_first_rung_cut``); a configuration goes on to a rung only when the segment fits the cap
    at the pace of its recorded epochs (the engine projects it from the epochs it measured). ``rule``: how the
    starts climb ("chase", "lead", "trail" or "rank", see ``ladder.STARTS_RULE``; None: the engine's)."""
    import optuna

    from bakeoff.search.engine import ladder as asha

    rungs = asha.Rungs(first=1, factor=factor)
    rule = rule or asha.STARTS_RULE
    study = _study(_tpe(int(rng.integers(2**31))))
    configs: dict[int, asha.Config] = {}
    by_index = {c.index: c for c in pool.curves}
    queue = pool.starts()
    while run.left() > 0:
        ready = [(k, c) for k, c in asha.promotable(list(configs.values()), rungs, rule)
                 if _fits(by_index[c.key], 0.0, rungs.epochs(k), rungs.epochs(k + 1), _cap(run))]
        if ready:  # the deepest promotable configuration, the best of its rung, from its checkpoint
            state = ready[0][1]
            curve, spent = by_index[state.key], by_index[state.key].compile_seconds
        else:
            curve = pool.take(queue.pop(0)) if queue else _propose(study, pool, rng, True)
            if curve is None:
                run.ran_out = True
                break
            state = configs.setdefault(curve.index, asha.Config(curve.index, start=curve.start != "sampled"))
            spent = curve.build_seconds
        trial = _enqueued(study, pool, curve)
        run.trials += 1
        for k, score in sorted(state.scores.items()):  # a continuation carries its rungs: TPE orders it by them
            trial.report(score, rungs.epochs(k))
        done = begin = rungs.epochs(state.rung) if state.rung >= 0 else 0
        while not curve.failed:
            if state.rung >= 0:
                state.went_on.add(state.rung)
            epochs = rungs.epochs(state.rung + 1)
            if epochs not in curve.decayed:  # diverged, or deeper than the record went with it
                run.holes += state.rung >= 0 and not curve.diverged
                break
            step = curve.cost(done, epochs) + curve.decay_seconds[epochs]
            if done == 0:  # a new configuration: the pace stops a first rung over its limit within seconds
                limit = _cap(run) if curve.start != "sampled" or not parts else min(_cap(run), run.budget / parts)
                if spent + step > limit:
                    spent = min(_first_rung_cut(curve), run.left())
                    break
            elif done > begin and not _fits(curve, spent, done, epochs, _cap(run)):
                break  # the next rung would not fit the cap: it ends at its rung, complete
            if spent + step > run.left():  # the budget runs out during the rung: charged, nothing kept
                spent = run.left()
                break
            spent, done = spent + step, epochs
            state.scores[state.rung + 1] = curve.decayed[epochs][0]
            trial.report(state.scores[state.rung], epochs)
            if not asha.goes_on(list(configs.values()), state, rungs, rule):
                break
        run.spent = min(run.budget, run.spent + spent)
        best = (choose or asha.incumbent)(list(configs.values()))
        if best is not None:  # worth its held-out score at the rung it reached: retraining trains that rung
            run.choose(best.scores[best.rung], by_index[best.key], by_index[best.key].decayed[rungs.epochs(best.rung)][1])
        if curve.failed:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:  # TPE ranks pruned trials by the deepest rung they reported; one with none ranks last
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)


#: The replay's names for the ladder's rules for the starts (``ladder.STARTS_RULE``); "judged" is the rule before
#: 2026-12-05, by rank like any configuration. The engine's own rule is plain ``ladder-2``.
RULE_NAMES = {"rank": "judged", "chase": "chase", "lead": "lead", "trail": "trail"}

STRATEGIES = {
    "median": lambda pool, run, rng: trunk_search(pool, run, rng, model_based=True, median=True),
    "random": lambda pool, run, rng: trunk_search(pool, run, rng, model_based=False, median=False),
    "hyperband": lambda pool, run, rng: hyperband(pool, run, rng),
    "ladder-2": lambda pool, run, rng: ladder(pool, run, rng, factor=2),
    "ladder-4": lambda pool, run, rng: ladder(pool, run, rng, factor=4),
    # A new configuration's first rung: no limit, and twice and half the engine's share of the budget (FIRST_RUNG_PARTS).
    "ladder-2-any": lambda pool, run, rng: ladder(pool, run, rng, factor=2, parts=0),
    f"ladder-2-1/{FIRST_RUNG_PARTS // 2}": lambda pool, run, rng: ladder(pool, run, rng, factor=2, parts=FIRST_RUNG_PARTS // 2),
    f"ladder-2-1/{FIRST_RUNG_PARTS * 2}": lambda pool, run, rng: ladder(pool, run, rng, factor=2, parts=FIRST_RUNG_PARTS * 2),
    # What the ladder ships: the best at any depth instead of the best of the highest rung.
    "ladder-2-best": lambda pool, run, rng: ladder(pool, run, rng, factor=2, choose=_best_anywhere),
    # The engine's other rules for the starts (``ladder.STARTS_RULE``), named below.
    **{f"ladder-2-{RULE_NAMES[rule]}": functools.partial(ladder, factor=2, rule=rule) for rule in RULE_NAMES if rule != STARTS_RULE},
}


#: The strategy that replays what ``bakeoff search`` does by default, read from the engine's own settings.
DEFAULT_STRATEGY = f"ladder-{LADDER_FACTOR}" if DEFAULT_PRUNER == LADDER else DEFAULT_PRUNER


def load(folder: Path, family: str) -> list[Curve]:
    import json

    from record_curves import done

    header = folder / "header.json"
    images = json.loads(header.read_text()).get("train_images") if header.exists() else TRAIN_IMAGES
    if images != TRAIN_IMAGES:
        raise SystemExit(f"replay: the record in {folder} trained on {images} images, the replay charges {TRAIN_IMAGES}")
    return [Curve.from_row(row) for row in done(folder, family)]


def replay(curves: list[Curve], family: str, strategy: str, budget: float, seed: int) -> Run:
    from bakeoff.spaces import DEFAULT_SPACES

    if seed % 2:  # odd repetitions select on the other half: the luck of the halves varies with the repetitions
        curves = [curve.halves_swapped() for curve in curves]
    pool = Pool(curves, DEFAULT_SPACES[family])
    run = Run(budget)
    STRATEGIES[strategy](pool, run, np.random.default_rng(seed))
    return run


def time_to(run: Run, target: float) -> float | None:
    """When the shippable choice first reached ``target`` on the held-out half; None: not within the budget."""
    return next((moment for moment, quality, _ in run.changes if quality is not None and quality >= target), None)


def outcome(run: Run, target: float) -> dict:
    """What the results keep of one replayed search."""
    return {"at": [run.at(f) for f in FRACTIONS], "trials": run.trials, "holes": run.holes, "ran_out": run.ran_out,
            "start_won": run.start_won(), "time_to_target": time_to(run, target)}


def main() -> None:
    from common import censored_median

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=1800.0, help="seconds of trial time per family (1800: a 1-hour run)")
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--families", default="ann,cnn")
    parser.add_argument("--targets", default="ann=0.985,cnn=0.992", help="held-out accuracy to time per family")
    parser.add_argument("--curves", type=Path, default=CURVES)
    parser.add_argument("--name", default="replay", help="results file bench/results/NAME.json")
    args = parser.parse_args()
    targets = {k: float(v) for k, v in (item.split("=") for item in args.targets.split(","))}
    strategies = args.strategies.split(",")
    results = {}
    for family in args.families.split(","):
        curves = load(args.curves, family)
        if not curves:
            raise SystemExit(f"replay: no recorded curves for {family} in {args.curves}; run record_curves.py")
        for strategy in strategies:
            reps = []
            for rep in range(args.reps):
                reps.append(outcome(replay(curves, family, strategy, args.budget, seed=rep), targets[family]))
            results.setdefault(family, {})[strategy] = {
                "reps": reps, "configurations": len(curves),
                "median_time_to_target": censored_median([r["time_to_target"] for r in reps]),
            }
            print(summary_line(family, strategy, results[family][strategy]), flush=True)
    record(args.name, {"budget_seconds": args.budget, "fractions": FRACTIONS, "targets": targets,
                       "baseline": strategies[0], "results": results})
    print(table(results, strategies[0], targets))
    print(goals(results, targets, args.budget))
    print(real_checks(results, args.budget, args.curves))


def summary_line(family: str, strategy: str, found: dict) -> str:
    reps = found["reps"]
    end = [r["at"][-1] for r in reps if r["at"][-1] is not None]
    hits = sum(r["time_to_target"] is not None for r in reps)
    return (f"[{family}] {strategy:<10} end {100 * statistics.mean(end):.2f} % ({len(end)}/{len(reps)} with a choice)  "
            f"trials {statistics.mean(r['trials'] for r in reps):.1f}  holes {statistics.mean(r['holes'] for r in reps):.1f}  "
            f"ran out {_ran_out(reps)}  target {hits}/{len(reps)}  starts won {sum(r['start_won'] for r in reps)}/{len(reps)}")


def table(results: dict, baseline: str, targets: dict) -> str:
    """Per family and strategy: held-out accuracy of the choice at each budget fraction, its paired difference
    from the baseline (95 % interval over repetitions), hits of the target and censored median time to it."""
    head = ("| family | strategy | " + " | ".join(f"at {int(100 * f)} %" for f in FRACTIONS)
            + " | end vs " + baseline + " (pp) | target hits | median time to target | trials | holes | record ran out | a start won |")
    lines = [head, "| " + " | ".join("---" for _ in head.strip("|").split("|")) + " |"]
    for family, strategies in results.items():
        base = strategies[baseline]["reps"]
        for strategy, found in strategies.items():
            reps = found["reps"]
            cells = []
            for i in range(len(FRACTIONS)):
                values = [r["at"][i] for r in reps if r["at"][i] is not None]
                cells.append(f"{100 * statistics.mean(values):.2f} ({len(values)}/{len(reps)})" if values else "none")
            pairs = [100 * (r["at"][-1] - b["at"][-1]) for r, b in zip(reps, base) if r["at"][-1] is not None and b["at"][-1] is not None]
            interval = mean_interval(pairs) if strategy != baseline else None
            diff = "baseline" if strategy == baseline else (
                interval_text(interval) if interval else "n/a")
            hits = sum(r["time_to_target"] is not None for r in reps)
            median = found["median_time_to_target"]
            name = f"**{strategy}** (the default)" if strategy == DEFAULT_STRATEGY else strategy
            lines.append(f"| {family.upper()} | {name} | " + " | ".join(cells) + f" | {diff} | {hits}/{len(reps)} (≥ {100 * targets[family]:.1f} %) | "
                         f"{'not reached by half' if median is None else f'{median:.0f} s'} | "
                         f"{statistics.mean(r['trials'] for r in reps):.1f} | {statistics.mean(r['holes'] for r in reps):.1f} | "
                         f"{_ran_out(reps)} | {sum(r['start_won'] for r in reps)}/{len(reps)} |")
    return "\n".join(lines)


def _ran_out(reps: list[dict]) -> str:
    """In how many repetitions the strategy tried every recorded configuration with budget left (results written
    before this was recorded say so)."""
    if any("ran_out" not in r for r in reps):
        return "not recorded"
    return f"{sum(r['ran_out'] for r in reps)}/{len(reps)}"


def _short_record(*found: dict) -> bool:
    """Whether any of these strategies ran out of the record (or it was not recorded): its verdicts are the record's."""
    return any(r.get("ran_out", True) for f in found for r in f["reps"])


def _paired(found: dict, other: dict, i: int) -> list[float]:
    """Paired differences (pp) of the choice's held-out accuracy at fraction ``i``, repetition by repetition."""
    return [100 * (r["at"][i] - b["at"][i]) for r, b in zip(found["reps"], other["reps"]) if r["at"][i] is not None and b["at"][i] is not None]


def _time_verdict(mine: float | None, theirs: float | None, budget: float) -> str:
    """Whether the default's median time to the target is at most half the other's (medians over repetitions,
    Kaplan-Meier: None when fewer than half reached it, so that median lies beyond the budget)."""
    if mine is None:
        return "missed" if theirs is not None else "not shown"
    bound = theirs if theirs is not None else budget  # a median beyond the budget is at least the budget
    return "met" if mine <= 0.5 * bound else ("missed" if theirs is not None else "not shown")


def _verdict(verdict: str, short_record: bool) -> str:
    return "not shown (a strategy ran out of the record)" if short_record else verdict


def goals(results: dict, targets: dict, budget: float) -> str:
    """Issue 26's goals for the default: ahead of Hyperband at the end by at least 0.1 pp (the whole 95 % interval of
    paired differences), its target in at most half Hyperband's median time, and ahead of random search (the whole
    interval above 0) at every fraction after the first quarter."""
    from common import goal_verdict

    firsts = {family: next(iter(found.values())) for family, found in results.items()}  # any strategy: same record, same repetitions
    counts = ", ".join(f"{family.upper()} {first['configurations']}" for family, first in firsts.items())
    reps = len(next(iter(firsts.values()))["reps"])
    lines = [f"{budget:.0f} s per family, {reps} repetitions over the recorded configurations ({counts}): the repetitions "
             "share one record, so their spread is the strategies' randomness and the halves' luck, not that of the record.", "",
             "| family | goal | measured | verdict |", "| --- | --- | --- | --- |"]
    for family, found in results.items():
        mine = found.get(DEFAULT_STRATEGY)
        if mine is None:
            continue
        if (band := found.get("hyperband")) is not None:
            end = mean_interval(_paired(mine, band, len(FRACTIONS) - 1))
            short = _short_record(mine, band)
            lines.append(f"| {family.upper()} | end ≥ hyperband + 0.1 pp | {_interval_text(end)} | {_verdict(goal_verdict(end, 0.1), short)} |")
            times = [found_["median_time_to_target"] for found_ in (mine, band)]
            shown = " vs ".join("not reached by half" if t is None else f"{t:.0f} s" for t in times)
            lines.append(f"| {family.upper()} | time to {100 * targets[family]:.1f} % ≤ 0.5 × hyperband's | {shown} | "
                         f"{_verdict(_time_verdict(*times, budget), short)} |")
        if (rand := found.get("random")) is not None:
            for i, fraction in enumerate(FRACTIONS):
                if fraction <= 0.25:
                    continue
                ahead = mean_interval(_paired(mine, rand, i))
                verdict = _verdict(goal_verdict(ahead, 0.0, strictly=True), _short_record(mine, rand))
                lines.append(f"| {family.upper()} | ahead of random at {int(100 * fraction)} % | {_interval_text(ahead)} | {verdict} |")
    return "\n".join(lines)


def real_strategy(attempt: dict) -> str | None:
    """The replayed strategy of a real search: its ``--pruner`` as its commit's engine ran it. Attempts that
    recorded "default" ran the median pruner (the default until the ladder); a ladder search ran its commit's rule
    for the starts (``STARTS_RULE``; before the setting, "chase" if the starts followed the deepest rung, i.e. its
    ``search/engine/ladder.py`` has ``behind``, else "rank"); None: not replayed, or a commit this clone does not hold."""
    import re

    pruner = attempt.get("pruner", "default")
    if pruner in ("default", "median"):
        return "median"
    if pruner != LADDER:
        return None
    shown = subprocess.run(["git", "show", f"{attempt['commit']}:search/engine/ladder.py"], capture_output=True, text=True, cwd=ROOT)
    if shown.returncode:  # a commit this clone does not hold: what it ran is unknown here
        return None
    named = re.search(r'^STARTS_RULE = "(\w+)"', shown.stdout, re.MULTILINE)
    rule = named.group(1) if named else "chase" if "def behind(" in shown.stdout else "rank"
    return f"ladder-{LADDER_FACTOR}" if rule == STARTS_RULE else f"ladder-{LADDER_FACTOR}-{RULE_NAMES[rule]}"


def real_checks(results: dict, budget: float, curves: Path) -> str:
    """The replay against real searches (``accuracy_at_budget.py``) on the record's CPU with the same budget per
    family: whether each one's trial count, its best validation accuracy and whether a start won fall within the
    range the replay of its strategy gives over repetitions (5th to 95th percentile; a start won: in at least one
    repetition and not in all, or as often as the replay says)."""
    import json

    from bakeoff.search.durations import parse_duration

    cpu = json.loads((curves / "header.json").read_text())["machine"]["cpu"]
    path = RESULTS / "accuracy_at_budget.json"
    attempts = json.loads(path.read_text())["attempts"] if path.exists() else []
    mine = [a for a in attempts if a.get("cpu") == cpu and parse_duration(a.get("timeout", "1h")) == 2 * budget]
    lines = ["| family | real search | check | real | replay: median [5th, 95th] over repetitions | agrees |",
             "| --- | --- | --- | --- | --- | --- |"]
    for attempt in mine:
        strategy = real_strategy(attempt)
        for family, found in results.items():
            if strategy not in found or family not in attempt:
                continue
            row, reps = attempt[family], found[strategy]["reps"]
            name = f"seed {attempt['seed']} at {attempt['commit']}, {strategy}"
            real_trials = sum(row["trials"].values())
            checks = [("trials", real_trials, [r["trials"] for r in reps], "{:.0f}"),
                      ("best validation accuracy", 100 * row["best_val_accuracy"], [100 * r["at"][-1] for r in reps if r["at"][-1] is not None], "{:.2f} %")]
            for check, real, replayed, form in checks:
                if not replayed:
                    continue
                low, mid, high = np.percentile(replayed, [5, 50, 95])
                lines.append(f"| {family.upper()} | {name} | {check} | {form.format(real)} | {form.format(mid)} [{form.format(low)}, {form.format(high)}] | "
                             f"{'yes' if low <= real <= high else 'no'} |")
            if "best_start" in row:  # the trial retraining used: a start, or None
                real_start = row["best_start"] is not None
                won = sum(r["start_won"] for r in reps)
                agrees = won > 0 if real_start else won < len(reps)
                lines.append(f"| {family.upper()} | {name} | a start won | {'yes' if real_start else 'no'} | in {won} of {len(reps)} | {'yes' if agrees else 'no'} |")
    if len(lines) == 2:
        return f"No real search on the record's CPU ({cpu}) with {2 * budget:.0f} s for both families is recorded yet (bench/accuracy_at_budget.py)."
    return "\n".join(lines)


def _interval_text(interval: dict | None) -> str:
    return "n/a" if interval is None else interval_text(interval, unit=" pp", count=True)


if __name__ == "__main__":
    main()
