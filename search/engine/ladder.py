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

With a cost to minimise as well (``--objective accuracy,latency``), the top of a rung is the top of its Pareto
ranking instead of its scores (``rung_order``): multi-objective successive halving, as in MO-ASHA (Schmucker et al.,
2021), so the configurations that climb spread along the front instead of crowding at its accurate, costly end.

Nothing here imports Optuna or TensorFlow: the engine and the replay hand in plain records.
"""

from __future__ import annotations

import math
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
    cost: float | None = None  # its measured cost, in a search that minimises one (it depends on the architecture only)

    @property
    def rung(self) -> int:
        """The highest rung reached, -1 before the first."""
        return max(self.scores, default=-1)


def top_of_rung(configs: list[Config], k: int, factor: int) -> set[int]:
    """Keys of the configurations in the top ``1/factor`` of rung ``k`` (``rung_order``): with fewer than
    ``factor`` scored there, none."""
    scored = rung_order(configs, k)
    return {c.key for c in scored[: len(scored) // factor]}


def rung_order(configs: list[Config], k: int) -> list[Config]:
    """The configurations scored at rung ``k``, best first, ties to the earlier key. By score; when every one has a
    cost, by Pareto rank first (non-dominated sorting: rank 0 is the rung's front, rank 1 the front of the rest, and
    so on), then within a rank the most isolated first (NSGA-II's crowding distance in score and log cost), then the
    more accurate: the rung's most accurate configuration, an end of its front, always comes first, so the deepest
    rung keeps the search's most accurate line as the single-objective ladder does."""
    scored = [c for c in configs if k in c.scores]
    if not scored or any(c.cost is None for c in scored):
        return sorted(scored, key=lambda c: (-c.scores[k], c.key))
    points = {c.key: (c.scores[k], math.log10(max(c.cost, 1e-12))) for c in scored}
    # Most accurate first (cheaper first on ties), each joins the first front whose cheapest member, the one added
    # last, does not dominate it: nothing earlier is cheaper than that one, so no other member can.
    fronts: list[list[Config]] = []
    for c in sorted(scored, key=lambda c: (-points[c.key][0], points[c.key][1], c.key)):
        front = next((f for f in fronts if not _dominates(points[f[-1].key], points[c.key])), None)
        if front is None:
            fronts.append(front := [])
        front.append(c)
    spans = [(max(v) - min(v)) or 1.0 for v in zip(*points.values())]  # each objective's range in the rung
    rank, crowding = {}, {}
    for level, front in enumerate(fronts):
        crowding.update(_crowding(front, points, spans))
        rank.update((c.key, level) for c in front)
    return sorted(scored, key=lambda c: (rank[c.key], -crowding[c.key], -c.scores[k], c.key))


def _dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """(score, log cost) ``a`` at least as accurate and as cheap as ``b``, and better in one."""
    return a[0] >= b[0] and a[1] <= b[1] and a != b


def _crowding(front: list[Config], points: dict[int, tuple[float, float]], spans: list[float]) -> dict[int, float]:
    """NSGA-II's crowding distance of each of ``front``: the sides of the box its neighbours on the front span, each
    over that objective's range in the rung (``spans``); the two ends of the front are infinitely far."""
    found = {c.key: 0.0 for c in front}
    for axis, span in enumerate(spans):
        ordered = sorted(front, key=lambda c: (points[c.key][axis], c.key))
        found[ordered[0].key] = found[ordered[-1].key] = math.inf
        for before, c, after in zip(ordered, ordered[1:], ordered[2:]):
            found[c.key] += (points[after.key][axis] - points[before.key][axis]) / span
    return found


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
    deepest rung first and the best ranked (``rung_order``): (rung index, config)."""
    trailing = behind(configs, rule)
    lagging = [c for c in configs if c.key in trailing and c.rung not in c.went_on and not c.running]
    found = [(c.rung, c) for c in sorted(lagging, key=lambda c: (c.rung, c.key))]
    for k in sorted({c.rung for c in configs if c.rung >= 0}, reverse=True):
        order = rung_order(configs, k)
        top = {c.key for c in order[: len(order) // rungs.factor]}
        found += [(k, c) for c in order if c.key in top and c.rung == k and k not in c.went_on and not c.running
                  and c.key not in trailing and ranked(c, rule)]
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
