"""What a search worker is given: everything the parent resolved once, in a typed job file.

The parent (``commands.search``) parses and checks the command line, picks the backend, validates and hashes the
data, writes the prepared split, and creates or checks the studies; then it writes a ``SearchJob`` and starts the
workers on it (``python -m bakeoff.search.app.worker JOB``). A worker reads the job and works: it parses no
command line, checks nothing twice and never reads the data source.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bakeoff.search.engine.budget import Budget
from bakeoff.search.engine.objectives import Objectives
from bakeoff.search.engine.runner import Process, SearchPlan
from bakeoff.search.files import write_json
from bakeoff.spaces import Space


@dataclass(frozen=True)
class SearchJob:
    engine: str  # a key of ``engine.runner.ENGINES``
    storage: str  # the storage URL
    study: str  # the study name (families are NAME-ann, NAME-cnn)
    families: tuple[str, ...]
    spaces: dict[str, dict[str, Any]]  # each family's space, as ``Space.get_config`` gives it
    budget: dict[str, float | None]  # per family: {"trials": ..., "seconds": ...}
    epochs: int
    seed: int
    sampler: str
    pruner: str
    data: str  # the prepared split's folder
    split: dict[str, Any]  # the options it was prepared with (``data.prepared.split_options``)
    backend: str  # the Keras backend that trains
    workdir: str  # where an engine may keep files of its own (KerasTuner's checkpoints)
    objectives: tuple[str, ...] = ("accuracy",)  # ``engine.objectives.Objectives.names``
    version: int = field(default=1)

    def plan(self, process: Process) -> SearchPlan:
        spaces = {family: Space.from_config(config) for family, config in self.spaces.items()}
        return SearchPlan(tuple(self.families), spaces, Budget(**self.budget), self.epochs, self.seed, self.sampler, self.pruner, process,
                          Objectives(tuple(self.objectives)))

    def write(self, path: Path) -> Path:
        write_json(path, asdict(self))
        return path

    @classmethod
    def read(cls, path: Path) -> SearchJob:
        found = json.loads(Path(path).read_text())
        return cls(**{**found, "families": tuple(found["families"]), "objectives": tuple(found.get("objectives", ("accuracy",)))})
