"""Faults by the dozen: real searches on real parts, and after every injected fault, exact counts.

Four kinds, ``--faults`` of each (default 20), on the small MNIST subset the tests carry (tiny trials: the faults
are the point, not the models). After each fault the study is checked as the reliability tests check it
(``tests/studycheck.py``): nothing RUNNING, nothing WAITING but a surplus trial's copy, exactly the trial budget
counted per family, every trial finished before the fault unchanged, none recorded twice.

- ``outage``: two ``bakeoff search`` processes share a PostgreSQL study on loopback; once a trial has finished, the
  server is stopped for 30-60 s and started again, or (every other round) restarted with ``pg_ctl restart -m
  fast`` while trials run. Both processes must end with exit 0 and no traceback.
- ``disk``: a search on a 96 MB tmpfs filled up to a random 0-96 KB of free space is extended by two trials per
  family: it must end with exit 0, or exit 3 and one line naming the path; after the space is freed the same
  command must finish the budget.
- ``worker``: four processes share a SQLite study; three of them are stopped (SIGSTOP) while training, so their
  heartbeats stop; the fourth must fail each stale trial once, run its re-queued copy and finish the budget.
  Then the stopped ones are killed (a machine that never comes back) or continued (one that comes back late),
  in turn: a continued one must say in one line that its trial was given up, and exit 0.
- ``damaged``: one file of a finished run (study, manifest, a results JSON, predictions, a model, the export's
  summary) is truncated or overwritten with random bytes; ``bakeoff status`` and ``bakeoff report`` must exit 0
  or 2 with one line, never a traceback, and leave the damaged file as it was.

    python bench/faults.py [--kinds outage,disk,worker,damaged] [--faults 20] [--seed 0]

Needs root (the tmpfs) and Debian's postgresql.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import RESULTS, ROOT, commit, record
from injection import BAKEOFF, SmallDisk, search_command, wait_until
from postgres import local_server
from studycheck import FAMILIES, check, complete_trials

DATA = ROOT / "tests" / "data" / "mnist_small.npz"
FAULT_EXIT = 3


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=1800, **kwargs)


def _clean(stderr: str, codes: tuple[int, ...], code: int) -> str | None:
    """None when a process ended as it may: an allowed exit code and no traceback; else what went wrong."""
    if code not in codes:
        return f"exit {code}: {stderr.strip()[-300:]}"
    if "Traceback" in stderr:
        return f"traceback: {stderr.strip()[-300:]}"
    return None


def outage(faults: int, rng: random.Random, scratch: Path) -> dict:
    problems, outages = [], []
    with local_server() as server:
        if server is None:
            raise SystemExit("no PostgreSQL binaries: apt-get install postgresql")
        storage = server.url.replace("postgresql://", "postgresql+psycopg://", 1)
        target = 0
        for round_ in range(faults):
            target += 4
            command = search_command(DATA, server.url, "outage", trials=target, epochs=2)
            processes = [subprocess.Popen([*command, "--out", str(scratch / f"host{i}")], stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True) for i in range(2)]
            done = len(complete_trials(storage, "outage"))
            wait_until(lambda: len(complete_trials(storage, "outage")) > done, 600, "a trial")
            before = complete_trials(storage, "outage")
            if round_ % 2 == 0:
                seconds = rng.uniform(30, 60)
                server.stop()
                time.sleep(seconds)
                server.start()
                outages.append(round(seconds, 1))
            else:
                server.restart()
            for process in processes:
                _, err = process.communicate(timeout=1800)
                if (problem := _clean(err, (0,), process.returncode)) is not None:
                    problems.append(f"round {round_}: {problem}")
            problems += _checked(storage, "outage", target, before, round_)
    return {"faults": faults, "stops": len(outages), "fast_restarts": faults - len(outages),
            "stop_seconds": outages, "problems": problems}


def disk(faults: int, rng: random.Random, scratch: Path) -> dict:
    problems, stopped = [], 0
    with SmallDisk.mounted(scratch / "disk", megabytes=96) as small:
        if small is None:
            raise SystemExit("mounting a tmpfs needs root")
        out = small.path / "run"
        storage = f"sqlite:///{out}/study.db"
        target = 2
        base = [*BAKEOFF, "search", "--data", str(DATA), "--epochs", "1", "--out", str(out), "--study", "k"]
        first = _run([*base, "--trials", str(target)])
        if first.returncode != 0:
            raise SystemExit(f"the first search failed: {first.stderr[-500:]}")
        for round_ in range(faults):
            target += 2
            before = complete_trials(storage, "k")
            small.fill(leave=rng.randrange(0, 96_000))
            full = _run([*base, "--trials", str(target)])
            stopped += full.returncode == FAULT_EXIT
            if (problem := _clean(full.stderr, (0, FAULT_EXIT), full.returncode)) is not None:
                problems.append(f"round {round_}, disk full: {problem}")
            elif full.returncode == FAULT_EXIT and "no space left on the device while writing" not in full.stderr:
                problems.append(f"round {round_}: {full.stderr.strip()[-300:]}")
            small.free()
            again = _run([*base, "--trials", str(target)])
            if (problem := _clean(again.stderr, (0,), again.returncode)) is not None:
                problems.append(f"round {round_}, after freeing: {problem}")
            problems += _checked(storage, "k", target, before, round_)
    return {"faults": faults, "stopped_by_the_full_disk": stopped, "problems": problems}


def worker(faults: int, rng: random.Random, scratch: Path) -> dict:
    problems, injected, continued = [], 0, 0
    out = scratch / "workers"
    storage = f"sqlite:///{out}/study.db"
    target = 0
    round_ = 0
    while injected < faults and round_ < 3 * faults:
        target += 4
        # Trials long enough (up to 30 epochs) that each of the four processes is seen training before its trial ends.
        command = [*search_command(DATA, storage, "k", trials=target, epochs=30), "--family", "cnn", "--out", str(out)]
        before = complete_trials(storage, "k")
        processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
                     for _ in range(4)]
        stopped: list[subprocess.Popen] = []
        for process in processes[: min(3, faults - injected)]:
            try:
                wait_until(lambda p=process: _training(storage, p.pid) or p.poll() is not None, 300, "a trial of this process training")
            except AssertionError:
                problems.append(f"round {round_}: a search process was never seen training")
                continue
            if process.poll() is not None:
                continue  # it found the budget used up before it could be caught: nothing to stop
            os.killpg(process.pid, signal.SIGSTOP)
            stopped.append(process)
        injected += len(stopped)
        for process in processes:
            if process not in stopped:
                _, err = process.communicate(timeout=1800)
                if (problem := _clean(err, (0,), process.returncode)) is not None:
                    problems.append(f"round {round_}: {problem}")
        for process in stopped:
            if rng.random() < 0.5:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            else:
                os.killpg(process.pid, signal.SIGCONT)
                text, err = process.communicate(timeout=1800)
                continued += 1
                if (problem := _clean(err, (0,), process.returncode)) is not None:
                    problems.append(f"round {round_}, continued: {problem}")
                elif "given up as stale by another worker" not in text:
                    problems.append(f"round {round_}, continued without saying its trial was given up")
        problems += _checked(storage, "k", target, before, round_, families=("cnn",))
        round_ += 1
    return {"faults": injected, "continued": continued, "killed": injected - continued, "rounds": round_, "problems": problems}


def _training(storage: str, pid: int) -> bool:
    """Whether the search started as ``pid`` has a trial training. Its worker is a child process, in the process
    group the search leads (``start_new_session``); the trial's worker id names the worker's pid."""
    import optuna
    from optuna.trial import TrialState

    try:
        study = optuna.load_study(study_name="k-cnn", storage=storage)
    except Exception:  # noqa: BLE001 - not created yet
        return False
    return any("config" in t.user_attrs and _in_group(t.user_attrs.get("worker", ""), pid)
               for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))


def _in_group(worker: str, leader: int) -> bool:
    try:
        return os.getpgid(int(worker.split(":")[1])) == leader
    except (IndexError, ValueError, ProcessLookupError):
        return False


DAMAGEABLE = ("study.db", "manifest.json", "metrics.json", "history.json", "predictions.npz", "gallery.npz",
              "model.keras", "exports.json", "card.json")


def damaged(faults: int, rng: random.Random, scratch: Path) -> dict:
    problems, codes, by_file = [], {0: 0, 2: 0}, {}
    run = scratch / "finished"
    made = _run([*BAKEOFF, "run", "--data", str(DATA), "--trials", "2", "--epochs", "1", "--seeds", "1", "--analyses", "none",
                 "--export", "--out", str(run), "--study", "k"])
    if made.returncode != 0:
        raise SystemExit(f"the finished run failed: {made.stderr[-500:]}")
    candidates = sorted(p for p in run.rglob("*") if p.is_file() and p.name in DAMAGEABLE)
    for round_ in range(faults):
        copy = scratch / f"damaged-{round_}"
        shutil.copytree(run, copy)
        victim = copy / rng.choice(candidates).relative_to(run)
        data = victim.read_bytes()
        if rng.random() < 0.5:
            victim.write_bytes(data[: rng.randrange(0, max(1, len(data)))])
        else:
            start = rng.randrange(0, max(1, len(data)))
            victim.write_bytes(data[:start] + rng.randbytes(min(4096, len(data) - start) or 64) + data[start + 4096:])
        digest = hashlib.sha256(victim.read_bytes()).hexdigest()
        for command in (["status"], ["report"]):
            ran = _run([*BAKEOFF, *command, "--out", str(copy), "--study", "k"])
            codes[ran.returncode] = codes.get(ran.returncode, 0) + 1
            seen = by_file.setdefault(f"{victim.name} {command[0]}", {})
            seen[str(ran.returncode)] = seen.get(str(ran.returncode), 0) + 1
            lines = [line for line in ran.stderr.splitlines() if line.startswith("bakeoff: error:")]
            what = f"round {round_}, {command[0]} with {victim.relative_to(copy)} damaged"
            if (problem := _clean(ran.stderr, (0, 2), ran.returncode)) is not None:
                problems.append(f"{what}: {problem}")
            elif ran.returncode == 2 and len(lines) != 1:
                problems.append(f"{what}: {len(lines)} error lines")
            if hashlib.sha256(victim.read_bytes()).hexdigest() != digest:
                problems.append(f"{what}: the damaged file was overwritten")
        shutil.rmtree(copy)
        _progress(round_, [p for p in problems if p.startswith(f"round {round_},")])
    return {"faults": faults, "exit_codes": {str(k): v for k, v in codes.items()},
            "exit_codes_by_file_and_command": dict(sorted(by_file.items())), "problems": problems}


def _checked(storage: str, name: str, target: int, before: dict, round_: int, families=FAMILIES) -> list[str]:
    try:
        check(storage, name, target, before, families=families, surplus_ok=True)
    except AssertionError as failed:
        found = [f"round {round_}: study check failed: {failed}"]
    else:
        found = []
    _progress(round_, found)
    return found


def _progress(round_: int, found: list[str]) -> None:
    """One line per round, for a bench that runs an hour or more."""
    print(f"  round {round_}: {found[0][:300] if found else 'checked, no problem'}", flush=True)


KINDS = {"outage": outage, "disk": disk, "worker": worker, "damaged": damaged}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--faults", type=int, default=20, help="faults injected of each kind")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--name", default="faults")
    args = parser.parse_args()
    for kind in args.kinds.split(","):
        rng = random.Random(f"{args.seed}-{kind}")  # a kind's draws do not depend on which kinds ran before it
        scratch = Path(tempfile.mkdtemp(prefix=f"bakeoff-{kind}-"))
        started = time.time()
        print(f"{kind}: {args.faults} faults", flush=True)
        try:
            found = KINDS[kind](args.faults, rng, scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        row = {"kind": kind, "faults": found.pop("faults"), "problems": len(found["problems"]),
               "minutes": round((time.time() - started) / 60, 1), **{k: v for k, v in found.items() if k != "problems"}}
        print(row, *found["problems"], sep="\n  ", flush=True)
        _record_kind(args.name, {**row, "first_problems": found["problems"][:3], "seed": args.seed, "commit": commit(),
                                 "command": " ".join(["python", "bench/faults.py", *sys.argv[1:]]),
                                 "when": time.strftime("%Y-%m-%dT%H:%M:%S%z")})


def _record_kind(name: str, row: dict) -> None:
    """Each kind's row is recorded as soon as it is done (a later kind may run for an hour), replacing that kind's
    row from an earlier run; rows kept from earlier runs keep their own commit and time."""
    path = RESULTS / f"{name}.json"
    rows = [r for r in (json.loads(path.read_text())["rows"] if path.exists() else []) if r["kind"] != row["kind"]]
    order = list(KINDS)
    record(name, {"rows": sorted([*rows, row], key=lambda r: order.index(r["kind"]))})


if __name__ == "__main__":
    main()
