"""Worker start and recycle time with the split prepared once, against loading the source in every worker; and
the search parent's memory, before and after.

Start: a worker process, started as the parent starts one (``python -m bakeoff.search.app.worker JOB``, the job
the parent wrote), on full MNIST, on a study whose ``--trials`` budget is already met: it reads the job,
memory-maps the prepared split, opens the studies and exits, which is what a worker does before it can train. A
recycled worker is a fresh start of the same job, so the same time. The baseline, alternating with it in each
repetition: the ``bakeoff search`` command on the source (``--data mnist.npz``), which is what every worker and
recycle ran before workers were given jobs (read, validate, hash, scale and split the source, open and check the
studies), here as a parent whose budget is met.

Parent memory: ``bakeoff search --trials 3 --epochs 1 --family ann --workers 1`` on full MNIST, the parent's
resident memory sampled every 0.2 s until it exits (the parent only waits on its workers, so a longer run adds
nothing to it); before = the code importable from ``--before`` (a folder put first on PYTHONPATH, e.g. holding
the previous commit's packages), after = this tree.

    python bench/worker_start.py [--repeats 7] [--before /tmp/benchpkg]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bakeoff.search.app.workers import worker_command
from bakeoff.search.layout import JOB_FILE

from common import mnist_path, record, rss_mb


def search_argv(data: str, out: Path, trials: int) -> list[str]:
    return [sys.executable, "-m", "bakeoff.search", "search", "--data", data, "--family", "ann", "--trials", str(trials),
            "--epochs", "1", "--out", str(out), "--study", "w"]


def worker_seconds(command: list[str]) -> float:
    env = {**os.environ, "BAKEOFF_WORKER_INDEX": "0", "BAKEOFF_WORKERS": "1"}
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def parent_memory(pythonpath: str | None, out: Path) -> dict:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    child = subprocess.Popen(search_argv(mnist_path(), out, 3), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    samples = []
    while child.poll() is None:
        mb = rss_mb(child.pid)
        if mb > 0:
            samples.append(mb)
        time.sleep(0.2)
    if child.returncode != 0:
        raise SystemExit(f"search failed: {child.stderr.read().decode()[-500:]}")
    return {"peak_mb": round(max(samples), 1), "median_mb": round(statistics.median(samples), 1), "samples": len(samples)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--before", help="a folder whose bakeoff package is the code before the change (for parent memory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        subprocess.run(search_argv(mnist_path(), out, 1), check=True, capture_output=True)  # one trial; prepares the split
        job = [sys.executable, *worker_command(out / JOB_FILE)]
        times: dict[str, list[float]] = {"source": [], "prepared": []}
        for _ in range(args.repeats):
            times["source"].append(worker_seconds(search_argv(mnist_path(), out, 1)))
            times["prepared"].append(worker_seconds(job))
        start = {k: {"median_s": round(statistics.median(v), 3), "all_s": [round(x, 3) for x in v]} for k, v in times.items()}
        ratio = start["prepared"]["median_s"] / start["source"]["median_s"]
        print(f"worker start (= recycle), median of {args.repeats}: source {start['source']['median_s']} s, "
              f"prepared {start['prepared']['median_s']} s, ratio {ratio:.2f}", flush=True)
        memory = {"after": parent_memory(None, Path(tmp) / "after")}
        if args.before:
            memory["before"] = parent_memory(args.before, Path(tmp) / "before")
        print("parent resident memory:", memory, flush=True)
    record("worker_start", {"data": "full MNIST (54,000 train / 6,000 validation / 10,000 test)", "repeats": args.repeats,
                            "worker_start": start, "prepared_over_source": round(ratio, 3), "parent_memory": memory})


if __name__ == "__main__":
    main()
