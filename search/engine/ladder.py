"""Asynchronous successive halving with continuation: which configuration trains next, and how far.

Rungs are epoch counts ``first * factor**k`` with no top fixed in advance: a configuration in the top
``1/factor`` of the configurations scored at its rung goes on to the next rung when that segment fits the trial's
time cap, so the deepest rung a search reaches grows with its budget (an overnight search trains its best
configurations far beyond a 15-minute one's). Each configuration is judged only against others at the same rung
and the same point of the same schedule (a decayed score, ``search/train/rungs.py``), never against a finished
hand-tuned start: slow starters are compared with slow starters. The queued starts are the reference a sampled
winner must beat ("found by search"), so a start goes on to every rung a sampled configuration has reached, whatever
its rank, before anything else is promoted: the verdict then compares models trained equally long (a start judged
after one epoch says nothing of what its recipe reaches), while the budget goes to the sampled configurations. One worker or many, the decision reads only
what the studies hold, so workers agree without talking to each other, and the replay benchmark
(``bench/replay.py``) runs this same code.

Nothing here imports Optuna or TensorFlow: the engine and the replay hand in plain records.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: How the starts climb. "lead" (the default since 2026-12-06): a start goes on by its rank like any configuration,
#: and follows the deepest rung a sampled configuration reached, so it is compared with the search's leaders at their
#: depth without leading the climb itself. "chase": by its rank too, and it follows the deepest rung any
#: configuration reached, so the two starts, alone at the top, lead each other up the ladder: in the three 1-hour
#: searches of 57e3fb4 they took half or more of each family's budget before the first sampled configuration was
#: tried, and a start was shipped in all six. "trail": never by its rank, only following the sampled configurations. "rank": by its
#: rank only, like any configuration (the engine before 2026-12-05). The replay compares them (``bench/replay.py``).
STARTS_RULE = "lead"

@dataclass(frozen=True)
class Rungs:
    """Epochs at rung ``k``: ``first * factor**k``."""

    first: int = 1
    factor: int = 2

    def __post_init__(self) -> None:
        if self.first < 1 or self.factor < 2:
            raise ValueError("rungs need first >= 1 epoch and a factor >= 2")

    def epochs(self, k: int) -> int:
        return self.first * self.factor**k

    def describe(self, reached: int) -> str:
        return ", ".join(str(self.epochs(k)) for k in range(reached + 1))


@dataclass
class Config:
    """One configuration's progress: its decayed score at each rung it reached, and where it cannot go on."""

    key: int  # the number of its first trial
    scores: dict[int, float] = field(default_factory=dict)  # rung index -> selection score
    went_on: set[int] = field(default_factory=set)  # rungs it was promoted from (or that it cannot leave)
    running: bool = False  # a worker is training it now
    start: bool = False  # a queued start (seed notebook, recipe): it follows the search's deepest rung, see ``behind``

    @property
    def rung(self) -> int:
        """The highest rung reached, -1 before the first."""
        return max(self.scores, default=-1)


def top_of_rung(configs: list[Config], k: int, factor: int) -> set[int]:
    """Keys of the configurations in the top ``1/factor`` of rung ``k`` (ties broken by the earlier key):
    with fewer than ``factor`` scored there, none."""
    scored = sorted((c for c in configs if k in c.scores), key=lambda c: (-c.scores[k], c.key))
    return {c.key for c in scored[: len(scored) // factor]}


def behind(configs: list[Config], rule: str = STARTS_RULE) -> set[int]:
    """Keys of the starts below the deepest rung any configuration reached (a sampled one, unless the rule is
    "chase"; none under "rank"): they go on regardless of rank."""
    if rule == "rank":
        return set()
    deepest = max((c.rung for c in configs if rule == "chase" or not c.start), default=-1)
    return {c.key for c in configs if c.start and 0 <= c.rung < deepest}


def ranked(config: Config, rule: str) -> bool:
    """Whether ``config`` may go on by its rank in its rung (a start not under the rule "trail")."""
    return rule != "trail" or not config.start


def promotable(configs: list[Config], rungs: Rungs, rule: str = STARTS_RULE) -> list[tuple[int, Config]]:
    """Configurations that may go on now: starts behind the deepest rung first (the shallowest first), then the
    deepest rung first and the best score: (rung index, config)."""
    trailing = behind(configs, rule)
    lagging = [c for c in configs if c.key in trailing and c.rung not in c.went_on and not c.running]
    found = [(c.rung, c) for c in sorted(lagging, key=lambda c: (c.rung, c.key))]
    for k in sorted({c.rung for c in configs if c.rung >= 0}, reverse=True):
        top = top_of_rung(configs, k, rungs.factor)
        ready = [c for c in configs if c.key in top and c.rung == k and k not in c.went_on and not c.running and c.key not in trailing
                 and ranked(c, rule)]
        found += [(k, c) for c in sorted(ready, key=lambda c: (-c.scores[k], c.key))]
    return found


def goes_on(configs: list[Config], config: Config, rungs: Rungs, rule: str = STARTS_RULE) -> bool:
    """Whether ``config``, just scored at its rung, is in the top of it now or a start behind the deepest rung (and so
    trains on without a pause)."""
    k = config.rung
    top = ranked(config, rule) and config.key in top_of_rung(configs, k, rungs.factor)
    return k not in config.went_on and (config.key in behind(configs, rule) or top)


def incumbent(configs: list[Config]) -> Config | None:
    """What the search would ship now: the best of the highest rung any configuration reached (the earlier on ties)."""
    scored = [c for c in configs if c.rung >= 0]
    if not scored:
        return None
    top = max(c.rung for c in scored)
    return min((c for c in scored if c.rung == top), key=lambda c: (-c.scores[top], c.key))
