"""Exported formats against the Keras model in the same run: agreement, accuracy, size and latency.

Exports a finished run's retrained models afresh (into a copy of the run, so the run itself is not changed)
with ``bakeoff export``: every format is loaded by its own runtime in the same process and run on the whole
test split, one after the other, so size and latency ratios against the Keras model are like for like
(same machine, same moment, same images; the runtimes use every core).

    python bench/exports.py --run runs/mnist   # a finished bakeoff run (full MNIST for the README's table)
    python bench/exports.py                    # makes one first: 2 minutes per family on full MNIST, 1 seed

Results: bench/results/exports.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bakeoff.search.engine import record as names

from common import machine, mnist_path, record


def make_run(out: Path) -> None:
    argv = [sys.executable, "-m", "bakeoff.search", "run", "--data", mnist_path(), "--timeout", "4m", "--seeds", "1",
            "--analyses", "none", "--no-export", "--out", str(out)]
    subprocess.run(argv, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, help="a finished bakeoff run directory (default: make a short one)")
    parser.add_argument("--study", default="bakeoff")
    args = parser.parse_args()
    from bakeoff.search.app.main import main as bakeoff

    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        if args.run:
            shutil.copytree(args.run, run, ignore=shutil.ignore_patterns(names.EXPORT_DIR, "report.html"))
        else:
            make_run(run)
        if bakeoff(["export", "--out", str(run), "--study", args.study]) != 0:
            raise SystemExit("bench: bakeoff export failed")
        families = {}
        for summary_file in sorted(run.glob(f"{names.EXPORT_DIR}/*/{names.EXPORTS_FILE}")):
            summary = json.loads(summary_file.read_text())
            formats = summary["formats"]
            keras = formats["keras"]
            for name, row in formats.items():
                if "error" in row:
                    print(f"{summary_file.parent.name:4} {name:15} not produced: {row['error']}")
                    continue
                row["size_vs_keras"] = round(row["size_bytes"] / keras["size_bytes"], 3)
                row["latency1_vs_keras"] = round(row["latency_ms_batch1"] / keras["latency_ms_batch1"], 3)
                row["latency256_vs_keras"] = round(row["latency_ms_batch256"] / keras["latency_ms_batch256"], 3)
                print(f"{summary_file.parent.name:4} {name:15} accuracy {row['accuracy']:.4%} agreement {row['agreement']:.4%} "
                      f"max diff {row['max_probability_difference']:.1e} size {row['size_bytes'] / 1e6:.3f} MB (x{row['size_vs_keras']}) "
                      f"batch 1 {row['latency_ms_batch1']:.3f} ms (x{row['latency1_vs_keras']}) "
                      f"batch 256 {row['latency_ms_batch256']:.4f} ms (x{row['latency256_vs_keras']})")
            families[summary_file.parent.name] = {"card": summary["card"], "formats": formats}
    record("exports", {"run": str(args.run) if args.run else "bakeoff run --timeout 4m --seeds 1 on full MNIST",
                       "measured_on": machine()["cpu"], "families": families})


if __name__ == "__main__":
    main()
