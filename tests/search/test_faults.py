"""Faults of real parts (issue 28), one of each kind: a PostgreSQL server stopped and restarted under a distributed
search, and stopped for good; a disk that fills up under the search, the retraining, the export and the report
(a real tmpfs of a few MB); a worker that stops answering (SIGSTOP). ``bench/faults.py`` repeats them 20 times."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import optuna
import pytest
from optuna.trial import TrialState

from bakeoff.search.app.main import main
from bakeoff.search.engine.record import seconds as record_seconds
from bakeoff.search.engine.record import study_name
from bakeoff.search.errors import FAULT_EXIT

from injection import SmallDisk, files_of, search_command, wait_until
from studycheck import check, complete_trials, studies

OUTAGE_SECONDS = 45  # longer than the heartbeat's grace period (40 s): live trials look stale when it ends


def _ann_search(data, server, name: str, trials: int) -> tuple[str, list[str]]:
    """The study's storage (as Optuna opens it) and the command of an ANN search on ``server``."""
    storage = server.url.replace("postgresql://", "postgresql+psycopg://", 1)
    return storage, [*search_command(data, server.url, name, trials=trials, epochs=2), "--family", "ann"]


def _completed(storage: str, name: str) -> int:
    return len(complete_trials(storage, name))


@pytest.mark.slow
@pytest.mark.postgres
def test_a_database_outage_and_a_restart_are_waited_out_and_nothing_is_lost(small_npz, tmp_path, postgres_server):
    server, name = postgres_server, "outage"
    # Room for two more complete trials after the outage however many finished (or were pruned) before it: with a
    # budget of 5, four finishing before the snapshot left no room and the wait below timed out.
    storage, command = _ann_search(small_npz, server, name, trials=8)
    processes = [subprocess.Popen([*command, "--out", str(tmp_path / f"host{i}")], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for i in range(2)]
    wait_until(lambda: _completed(storage, name) >= 2, 300, "two finished trials")
    before = complete_trials(storage, name)
    stopped = time.time()
    server.stop()
    time.sleep(OUTAGE_SECONDS)
    server.start()
    wait_until(lambda: _completed(storage, name) >= len(before) + 2, 300, "two trials after the outage")
    server.restart()  # a fast restart (an update) while trials run
    outputs = [p.communicate(timeout=900) for p in processes]
    errors = "".join(err for _, err in outputs)
    assert [p.returncode for p in processes] == [0, 0], errors
    assert "Traceback" not in errors
    assert "unreachable" in errors and "is back after" in errors, errors
    check(storage, name, 8, before, families=("ann",), surplus_ok=True)
    for study in studies(storage, name, ("ann",)).values():
        for trial in study.get_trials(states=(TrialState.COMPLETE,)):
            assert record_seconds(trial) < OUTAGE_SECONDS, (trial.number, record_seconds(trial))  # waiting is not charged
            assert trial.datetime_complete.timestamp() < stopped or trial.datetime_complete.timestamp() > stopped + OUTAGE_SECONDS - 5


@pytest.mark.slow
@pytest.mark.postgres
def test_a_database_gone_for_good_stops_in_one_line_and_a_rerun_resumes(small_npz, tmp_path, postgres_server):
    server, name = postgres_server, "gone"
    storage, command = _ann_search(small_npz, server, name, trials=3)
    command += ["--out", str(tmp_path / "run")]
    env = {**os.environ, "BAKEOFF_STORAGE_PATIENCE": "6"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    wait_until(lambda: _completed(storage, name) >= 1, 300, "a finished trial")
    server.stop()
    try:
        _, err = process.communicate(timeout=300)
    finally:
        server.start()
    assert process.returncode == FAULT_EXIT, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("bakeoff: error:")]
    assert len(errors) == 1 and "unreachable for" in errors[0] and "re-run the same command" in errors[0], err
    before = complete_trials(storage, name)
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    check(storage, name, 3, before, families=("ann",))


@pytest.mark.slow
def test_a_worker_that_stops_answering_loses_its_trial_once_and_comes_back_quietly(small_npz, tmp_path):
    out = tmp_path / "run"
    storage = f"sqlite:///{out}/study.db"
    # on the ladder (the default), a continuation was once queued behind the dead worker's re-queued trial and left
    # waiting when that trial filled the budget: a continuation is now queued only when nothing else waits
    command = [*search_command(small_npz, storage, "k", trials=3, epochs=3), "--family", "cnn", "--out", str(out)]
    frozen = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    running = lambda: [t for s in _studies_or_none(storage) for t in s.get_trials(states=(TrialState.RUNNING,)) if "config" in t.user_attrs]  # noqa: E731
    wait_until(lambda: bool(running()), 300, "a trial training")
    (stale,) = running()
    os.killpg(frozen.pid, signal.SIGSTOP)  # the machine hangs: no heartbeat, no exit
    try:
        other = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert other.returncode == 0, other.stderr
        (study,) = _studies_or_none(storage)
        trials = {t.number: t for t in study.get_trials()}
        assert trials[stale.number].state == TrialState.FAIL
        copies = [t for t in trials.values() if t.system_attrs.get("failed_trial") == stale.number]
        assert len(copies) == 1 and copies[0].state == TrialState.COMPLETE  # re-queued once, and run by the other
        assert copies[0].params == stale.params
    finally:
        os.killpg(frozen.pid, signal.SIGCONT)
    out_text, err = frozen.communicate(timeout=300)
    assert frozen.returncode == 0, err
    assert "Traceback" not in err
    assert f"trial {stale.number} was given up as stale by another worker" in out_text, out_text
    check(storage, "k", 3, {}, families=("cnn",))


def _studies_or_none(storage: str) -> list[optuna.Study]:
    try:
        return [optuna.load_study(study_name=study_name("k", "cnn"), storage=storage)]
    except Exception:  # noqa: BLE001 - not created yet
        return []


@pytest.fixture
def small_disk(tmp_path):
    with SmallDisk.mounted(tmp_path / "disk", megabytes=256) as disk:
        if disk is None:
            pytest.skip("mounting a small tmpfs needs root")
        yield disk


def _one_fault_line(capfd, *path_fragments: str) -> None:
    """One line that names the file being written (any of ``path_fragments``)."""
    err = capfd.readouterr().err
    lines = [line for line in err.strip().splitlines() if line.startswith("bakeoff: ")]
    assert len(lines) == 1, err
    assert lines[0].startswith("bakeoff: error: no space left on the device while writing "), lines
    assert any(fragment in lines[0] for fragment in path_fragments), lines
    assert "Traceback" not in err


@pytest.mark.slow
def test_a_full_disk_under_each_stage_stops_in_one_line_leaves_no_half_file_and_a_rerun_goes_on(small_npz, small_disk, capfd):
    out = small_disk.path / "run"
    storage = f"sqlite:///{out}/study.db"
    common = ["--out", str(out), "--study", "k"]
    search = ["search", "--data", str(small_npz), "--epochs", "1", "--family", "ann", *common]
    assert main([*search, "--trials", "1"]) == 0
    before = complete_trials(storage, "k")
    capfd.readouterr()
    small_disk.fill(leave=30_000)  # room for the job and the manifest; the study fills it within a few trials
    assert main([*search, "--trials", "5"]) == FAULT_EXIT
    _one_fault_line(capfd, f"{out}/study.db", f"{out}/checkpoints/k-ann/")  # the study, or a rung's checkpoint on the ladder
    kept = complete_trials(storage, "k")  # the study is intact and readable: what finished before is there, unchanged
    assert {key: kept.get(key) for key in before} == before
    assert not list(out.rglob(".partial-*"))
    small_disk.free()
    assert main([*search, "--trials", "5"]) == 0
    check(storage, "k", 5, before, families=("ann",))
    assert main(["report", *common]) == 0
    for stage, written in ((["retrain", "--seeds", "1"], "retrain"), (["export"], "export"), (["report"], "report.html")):
        kept = files_of(out)
        capfd.readouterr()
        small_disk.fill(leave=64_000)  # room for the manifest, not for a model, an export or a report
        assert main([*stage, *common]) == FAULT_EXIT, stage
        _one_fault_line(capfd, written)
        now = files_of(out)
        assert {path: now.get(path) for path in kept} == kept, stage  # every file there before is unchanged
        assert not [p for p in out.rglob("*") if p.name.startswith(".partial-")], stage
        small_disk.free()
        assert main([*stage, *common]) == 0, stage
    assert (out / "report.html").stat().st_size > 0
