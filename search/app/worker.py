"""A search worker: ``python -m bakeoff.search.app.worker JOB``. It reads the job the parent wrote (``job.py``),
memory-maps the prepared split, opens the studies the parent made, and runs the job's engine (``engine.runner``)
as this process (``workers.this_process``: its label and memory limit). Its exit code tells the parent what
happened: 0 done, ``RECYCLE`` hand over to a fresh process, 130/143 stopped, 2 a user error."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import optuna

from bakeoff.search.app.job import SearchJob
from bakeoff.search.app.main import guarded
from bakeoff.search.app.workers import this_process
from bakeoff.search.data.prepared import read_prepared
from bakeoff.search.engine import runner
from bakeoff.search.engine.storage import open_storage
from bakeoff.search.engine.studies import require_studies
from bakeoff.search.errors import UserError
from bakeoff.search.train.backend import choose_backend


def work(path: Path) -> int:
    job = SearchJob.read(path)
    choose_backend(job.backend)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    studies = require_studies(open_storage(job.storage, create=False), job.study, job.families)
    if set(studies) != set(job.families):
        raise UserError(f"the studies of {job.study!r} for {', '.join(job.families)} are not all in {job.storage}: start the search again")
    data = read_prepared(Path(job.data), job.split).search_data()
    return runner.run(job.engine, job.plan(this_process()), studies, data, Path(job.workdir))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m bakeoff.search.app.worker JOB (a search job written by 'bakeoff search')", file=sys.stderr)
        return 2
    return guarded(lambda: work(Path(argv[0])))


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
