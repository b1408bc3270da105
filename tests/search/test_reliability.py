"""Kills, signals and parallel workers against real storage, with real (tiny) training in subprocesses."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import sqlalchemy
from optuna.trial import TrialState
from sqlalchemy.exc import SQLAlchemyError

from bakeoff.search.app.main import main
from bakeoff.search.durations import parse_duration
from bakeoff.search.engine.record import FROM_EPOCHS, Outcome, counted, counts, outcome_of, study_name
from bakeoff.search.engine.record import seconds as record_seconds

from studycheck import check, complete_trials, studies

BAKEOFF = [sys.executable, "-m", "bakeoff.search"]


def _argv(small_npz, out, *extra):
    return ["search", "--data", str(small_npz), "--epochs", "2", "--out", str(out), "--study", "k", *extra]


def _studies(storage):
    return studies(storage, "k")


def _wait_for_training(storage, timeout=240.0, after=0.0):
    """Block until some trial is RUNNING with its configuration recorded (training has begun), started after ``after``
    (unix time)."""
    deadline = time.time() + timeout
    opened = None
    while time.time() < deadline:
        if Path(storage.removeprefix("sqlite:///")).exists():
            try:
                opened = opened or optuna.storages.RDBStorage(storage)  # one connection, not one per poll
                for study in opened.get_all_studies():
                    running = opened.get_all_trials(study._study_id, deepcopy=False, states=(TrialState.RUNNING,))
                    if any("config" in t.user_attrs and t.datetime_start.timestamp() > after for t in running):
                        return
            except (KeyError, SQLAlchemyError, RuntimeError):  # the search is creating the schema or the studies
                opened = None
        time.sleep(0.3)
    raise AssertionError("no trial started training in time")


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_finished(small_npz, tmp_path):
    out = tmp_path / "run"
    storage = f"sqlite:///{out}/study.db"
    argv = BAKEOFF + _argv(small_npz, out, "--trials", "5")
    rng = random.Random(7)
    kept: dict = {}
    for _ in range(3):
        # A crash takes everything at once: SIGKILL to the whole process group (search and its worker).
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rng.uniform(4.0, 12.0))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        kept.update(complete_trials(storage, "k"))
    finished = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    check(storage, "k", 5, kept)


@pytest.mark.slow
def test_a_trial_killed_overnight_is_charged_what_it_trained_not_the_night(small_npz, tmp_path):
    """SIGKILL during a --timeout search, 30 s of nothing, then a resume: the dead trial costs its training only."""
    out = tmp_path / "run"
    storage = f"sqlite:///{out}/study.db"
    argv = BAKEOFF + _argv(small_npz, out, "--family", "cnn", "--timeout", "10m", "--epochs", "300")
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for_training(storage)
    except AssertionError:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    time.sleep(8.0)
    os.killpg(process.pid, signal.SIGKILL)
    killed_at = time.time()
    process.wait()
    time.sleep(30.0)
    # the same command with a budget already spent (a ladder study keeps its first rung of 300 epochs)
    resumed = subprocess.run(BAKEOFF + _argv(small_npz, out, "--family", "cnn", "--timeout", "1s", "--epochs", "300"),
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "re-queued 1 trial(s) left running by a dead worker" in resumed.stdout
    study = optuna.load_study(study_name="k-cnn", storage=storage)
    dead = [t for t in study.get_trials() if outcome_of(t) == Outcome.INTERRUPTED]
    assert len(dead) == 1
    ran = killed_at - dead[0].datetime_start.timestamp()
    charged = record_seconds(dead[0])
    assert ran - 15 < charged < ran + 15, (charged, ran)  # not the 30 s it lay dead, nor nothing
    assert not counts(dead[0])


@pytest.mark.slow
def test_a_killed_search_process_leaves_no_worker_behind(small_npz, tmp_path):
    out = tmp_path / "run"
    storage = f"sqlite:///{out}/study.db"
    process = subprocess.Popen(BAKEOFF + _argv(small_npz, out, "--trials", "3", "--epochs", "30"), stdout=subprocess.DEVNULL)
    _wait_for_training(storage)
    workers = [int(p) for task in Path(f"/proc/{process.pid}/task").glob("*/children") for p in task.read_text().split()]
    assert workers
    process.kill()
    process.wait()
    deadline = time.time() + 30
    while time.time() < deadline and any(Path(f"/proc/{w}").exists() and "zombie" not in Path(f"/proc/{w}/status").read_text() for w in workers):
        time.sleep(0.2)
    assert not [w for w in workers if Path(f"/proc/{w}").exists() and "zombie" not in Path(f"/proc/{w}/status").read_text()]
    trials = [t for s in _studies(storage).values() for t in s.get_trials()]
    assert not [t for t in trials if t.state == TrialState.RUNNING]  # the worker recorded its trial on the way out


@pytest.mark.slow
@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_sigint_stop_gracefully(small_npz, tmp_path, sig, code, capsys):
    out = tmp_path / "run"
    storage = f"sqlite:///{out}/study.db"
    process = subprocess.Popen(BAKEOFF + _argv(small_npz, out, "--trials", "3", "--epochs", "30"), stdout=subprocess.PIPE, text=True)
    _wait_for_training(storage)
    started = time.time()
    process.send_signal(sig)
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == code
    assert time.time() - started < 30
    assert f"stopped by {sig.name}" in stdout
    studies = _studies(storage)
    trials = [t for s in studies.values() for t in s.get_trials()]
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    interrupted = [(f, t) for f, s in studies.items() for t in s.get_trials(states=(TrialState.FAIL,))]
    assert len(interrupted) == 1
    family, failed = interrupted[0]
    assert failed.user_attrs["reason"] == f"interrupted by {sig.name}"
    waiting = studies[family].get_trials(states=(TrialState.WAITING,))  # also the recipe start, not yet run
    requeued = [t for t in waiting if t.system_attrs.get("failed_trial") == failed.number]
    assert [t.params for t in requeued] == [failed.params]  # queued to run again
    assert main(["report", "--out", str(out), "--study", "k"]) == 0
    assert (out / "report.html").is_file()


@pytest.mark.slow
def test_a_stop_after_hand_overs_to_fresh_processes_says_how_long_the_search_ran(small_npz, tmp_path):
    """Each trial grows a worker past 1 MB, so it hands over to a fresh process; the stop line counts from the
    search's start (just after its "searching" line), not from the start of the process that received the signal."""
    out = tmp_path / "run"
    process = subprocess.Popen(BAKEOFF + _argv(small_npz, out, "--family", "ann", "--epochs", "1", "--timeout", "10m"),
                               stdout=subprocess.PIPE, text=True, env={**os.environ, "BAKEOFF_RECYCLE_MB": "1"})
    searching = handed_over = None
    for line in process.stdout:
        if line.startswith("searching "):
            searching = time.time()
        elif "handing over to a fresh process" in line:
            handed_over = time.time()
            break
    assert searching is not None and handed_over is not None, "no search began, or no worker handed over"
    _wait_for_training(f"sqlite:///{out}/study.db", after=handed_over)  # the fresh process is training, not handing over
    signalled = time.time()
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=60)
    finished = time.time()
    assert process.returncode == 143
    said = next((line for line in stdout.splitlines() if "stopped by SIGTERM after " in line), stdout)
    ran = parse_duration(said.split(" after ")[1].split(";")[0])
    assert ran > finished - handed_over + 1, (said, finished - handed_over)  # longer than the signalled process lived
    # the search starts its workers within seconds of its "searching" line
    assert signalled - searching - 4 <= ran <= finished - searching + 1, (said, signalled - searching, finished - searching)


@pytest.mark.slow
@pytest.mark.parametrize("storage_kind", ["sqlite", "journal"])
def test_parallel_workers_lose_and_duplicate_nothing(small_npz, tmp_path, storage_kind):
    out = tmp_path / "run"
    extra = ["--storage", str(out / "study.log")] if storage_kind == "journal" else []
    out.mkdir()
    result = subprocess.run(BAKEOFF + _argv(small_npz, out, "--trials", "5", "--epochs", "1", "--workers", "3", *extra),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "database is locked" not in result.stderr
    storage = (optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(out / "study.log")))
               if storage_kind == "journal" else f"sqlite:///{out}/study.db")
    # Three workers may each begin a trial when one trial of the budget is left: the later ones give way and their
    # parameters are queued again for an extended search (as with two processes on PostgreSQL, below).
    check(storage, "k", 5, {}, surplus_ok=True)
    assert {"w0", "w1", "w2"} <= {line.split()[0] for line in result.stdout.splitlines() if line.startswith("w")}


_OPEN_AT = """
import sys, time
from bakeoff.search.engine.storage import open_storage
from bakeoff.search.errors import UserError
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
try:
    open_storage(sys.argv[1], create=True)
except UserError as error:
    sys.exit(str(error))
"""


def test_processes_opening_one_new_sqlite_file_together_all_open_it(tmp_path):
    """SQLAlchemy creates Optuna's tables by checking, then creating: without a retry, all but one of several workers
    started at once on a new file failed with "table ... already exists" (in 5 of 5 rounds of 6 here, before the fix)."""
    for round_ in range(3):
        url = f"sqlite:///{tmp_path}/study{round_}.db"
        start = time.time() + 6.0  # all children have imported Optuna by then, and open the file in the same instant
        children = [subprocess.Popen([sys.executable, "-c", _OPEN_AT, url, str(start)], stderr=subprocess.PIPE,
                                     text=True) for _ in range(6)]
        errors = [child.communicate(timeout=120)[1] for child in children]
        assert [child.returncode for child in children] == [0] * 6, errors
        assert {"studies", "trials"} <= set(sqlalchemy.inspect(sqlalchemy.create_engine(url)).get_table_names())


@pytest.mark.slow
@pytest.mark.postgres
def test_two_processes_share_one_postgresql_study(small_npz, tmp_path, postgres):
    name = f"pg{os.getpid()}{int(time.time())}"
    argv = ["search", "--data", str(small_npz), "--epochs", "1", "--trials", "4", "--storage", postgres, "--study", name]
    processes = [
        subprocess.Popen(BAKEOFF + argv + ["--out", str(tmp_path / f"host{i}")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)
    ]
    outputs = [p.communicate(timeout=600) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], [o[1] for o in outputs]
    storage = postgres.replace("postgresql://", "postgresql+psycopg://", 1)
    studies = {f: optuna.load_study(study_name=study_name(name, f), storage=storage) for f in ("ann", "cnn")}
    for family, study in studies.items():
        trials = study.get_trials()
        assert counted(trials) == 4, family
        # Left over at most: a surplus trial's parameters, queued again (both processes started a trial when one
        # trial of the budget was left; the later one gave way, and an extended search runs it first).
        by_number = {t.number: t for t in trials}
        leftover = [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
        assert all(t.state == TrialState.WAITING and outcome_of(by_number[t.system_attrs["failed_trial"]]) is Outcome.SURPLUS
                   for t in leftover), leftover
        for start in ("seed notebook", "recipe"):  # queued once, by the process that created the study (on the
            # ladder a start's later segments carry its label too: they begin from a rung, not from scratch)
            assert sum(1 for t in trials if t.user_attrs.get("start") == start and not t.user_attrs.get(FROM_EPOCHS)
                       and t.state == TrialState.COMPLETE) == 1
    # A surplus trial queued again (WAITING) has not run yet, so no process is recorded on it.
    workers = {t.user_attrs["worker"].split(":")[1] for s in studies.values() for t in s.get_trials()
               if t.state != TrialState.WAITING}
    assert len(workers) == 2  # both processes did work
