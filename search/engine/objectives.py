"""What a search optimises (``--objective``) and the limits a shipped model must meet (``--max-latency``, ``--max-size``).

``accuracy`` is validation accuracy alone (one Optuna objective). ``accuracy,latency`` and ``accuracy,size`` add
one cost to minimise, measured on every trial's model the same way (``search/deploy/cost.py``): latency per image
of the LiteRT float32 file at batch 1 on ``cost.THREADS`` thread(s), or the size of the LiteRT int8 file. The
cost depends on the architecture only, so it is measured before training and charged to the trial.

A limit picks, per family, the most accurate complete trial that meets it for retraining and export; it needs
its cost measured, so ``--max-latency`` goes with the latency objective and ``--max-size`` with the size one.
Light module: no TensorFlow, no Optuna.
"""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass
from typing import Any, Iterable

from bakeoff.search.errors import UserError

ACCURACY, LATENCY, SIZE = "accuracy", "latency", "size"
CHOICES = (ACCURACY, f"{ACCURACY},{LATENCY}", f"{ACCURACY},{SIZE}")
#: The key of each cost in a trial's ``record.COST`` attribute, and its unit.
COST_KEY = {LATENCY: "latency_ms", SIZE: "int8_bytes"}
#: Complete trials that cost no more than a running one needed before the front pruner judges it.
FRONT_PEERS = 3


@dataclass(frozen=True)
class Objectives:
    """The objectives of one search: accuracy first, then at most one cost."""

    names: tuple[str, ...] = (ACCURACY,)

    @property
    def cost(self) -> str | None:
        return self.names[1] if len(self.names) > 1 else None

    @property
    def multi(self) -> bool:
        return self.cost is not None

    @property
    def directions(self) -> list[str]:
        return ["maximize"] + ["minimize"] * (len(self.names) - 1)

    @property
    def text(self) -> str:
        return ",".join(self.names)

    def cost_value(self, cost: dict[str, Any] | None) -> float | None:
        """The measured cost this search minimises, from a trial's ``record.COST`` (None if not measured)."""
        return None if self.cost is None or not cost else cost.get(COST_KEY[self.cost])


def parse_objective(text: str) -> Objectives:
    cleaned = ",".join(part.strip() for part in text.lower().split(","))
    if cleaned not in CHOICES:
        raise UserError(f"--objective {text!r} is not one of {', '.join(CHOICES)}")
    return Objectives(tuple(cleaned.split(",")))


def stored_objectives(names: Iterable[str] | None) -> Objectives:
    """A study's objectives as it recorded them (studies made before ``--objective`` existed searched accuracy alone)."""
    return Objectives(tuple(names)) if names else Objectives()


_NUMBER = r"\s*(\d+(?:\.\d*)?|\.\d+)(?:e([+-]?\d+))?\s*"
_LATENCY_UNITS = {"s": 1000.0, "ms": 1.0, "us": 1e-3, "µs": 1e-3, "ns": 1e-6}
_SIZE_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def _quantity(text: str, units: dict[str, float], what: str, example: str) -> float:
    match = re.fullmatch(_NUMBER + r"([a-zµ]+)\s*", text.strip().lower())
    if not match or match.group(3) not in units:
        raise UserError(f"{what} {text!r} is not understood; write a number and a unit ({', '.join(units)}), e.g. {example}")
    value = float(match.group(1) + (f"e{match.group(2)}" if match.group(2) else "")) * units[match.group(3)]
    if not 0 < value < math.inf:
        raise UserError(f"{what} {text!r} must be positive, e.g. {example}")
    return value


def parse_latency(text: str) -> float:
    """Milliseconds per image in ``text`` (``0.1ms``, ``250us``)."""
    return _quantity(text, _LATENCY_UNITS, "--max-latency", "0.1ms or 250us")


def parse_size(text: str) -> float:
    """Bytes in ``text`` (``1MB``, ``300kB``, ``2MiB``)."""
    return _quantity(text, _SIZE_UNITS, "--max-size", "1MB or 300kB")


def format_cost(name: str, value: float) -> str:
    if name == LATENCY:
        return f"{value * 1000:.3g} µs" if value < 0.1 else f"{value:.3g} ms" if value < 1000 else f"{value / 1000:.3g} s"
    return f"{value / 1e6:.3g} MB" if value >= 1e6 else f"{value / 1e3:.3g} kB"


@dataclass(frozen=True)
class Limits:
    """What a model to ship must meet; ``None`` leaves a cost free."""

    latency_ms: float | None = None
    size_bytes: float | None = None

    def to_dict(self) -> dict[str, float]:
        """{cost name: limit} of the limits set: as the manifest and retrained metrics record them."""
        return {name: value for name, value in ((LATENCY, self.latency_ms), (SIZE, self.size_bytes)) if value is not None}

    def __bool__(self) -> bool:
        return bool(self.to_dict())

    def met(self, cost: dict[str, Any] | None) -> bool:
        """Whether a trial with this measured cost meets every limit (an unmeasured cost meets none)."""
        for name, limit in self.to_dict().items():
            value = (cost or {}).get(COST_KEY[name])
            if value is None or value > limit:
                return False
        return True

    def unmet(self, costs: list[dict[str, Any] | None]) -> str | None:
        """The sentence when no complete trial (``costs``: theirs) meets these limits; None when one does, or without
        limits or complete trials."""
        if not self or not costs or any(self.met(cost) for cost in costs):
            return None
        closest = []
        for name in self.to_dict():
            measured = [value for cost in costs if (value := (cost or {}).get(COST_KEY[name])) is not None]
            if measured:
                closest.append(f"the {'fastest' if name == LATENCY else 'smallest'} complete trial: {format_cost(name, min(measured))}")
        return f"no complete trial meets {self.describe()}" + (f" ({'; '.join(closest)})" if closest else "")

    def describe(self) -> str:
        return " and ".join(f"--max-{name} {format_cost(name, value)}" for name, value in self.to_dict().items())

    @classmethod
    def from_dict(cls, found: dict[str, float] | None) -> Limits:
        found = found or {}
        return cls(latency_ms=found.get(LATENCY), size_bytes=found.get(SIZE))

    def check_measured(self, objectives: Objectives, where: str) -> None:
        """A limit needs its cost measured on every trial: the search must have had that objective."""
        for name in self.to_dict():
            if objectives.cost != name:
                raise UserError(
                    f"--max-{name} needs each trial's {name} measured, and {where} searches {objectives.text}: "
                    f"search with --objective accuracy,{name}"
                )


def limits_from(latency: str | None, size: str | None) -> Limits:
    return Limits(latency_ms=None if latency is None else parse_latency(latency), size_bytes=None if size is None else parse_size(size))


def behind_cheaper_peers(accuracy: float, epoch: int, cost: float, peers: Iterable[tuple[float, list[float]]]) -> bool:
    """The front pruner's rule (``--pruner front``): a trial is stopped at ``epoch`` (index from 0) when its validation
    accuracy there is below the median, at the same epoch, of the complete trials that cost no more than it (at
    least ``FRONT_PEERS`` of them). Such peers tend to end at or above where this one is heading, at no more cost,
    so it is unlikely to reach the front; a trial cheaper than every peer is never stopped, since nothing cheaper
    shows what it should reach. ``peers``: (cost, validation curve) of complete trials."""
    at_epoch = [curve[epoch] for peer_cost, curve in peers if peer_cost <= cost and len(curve) > epoch]
    return len(at_epoch) >= FRONT_PEERS and accuracy < statistics.median(at_epoch)
