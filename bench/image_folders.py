"""Memory and speed of reading a large class-folder data set: 100,000 small PNG files.

Writes ``--images`` 28x28 grayscale PNGs in ten class folders (real MNIST digits when ../shared/data/mnist.npz is
there, repeated past its 70,000; random pixels otherwise), then reads them in fresh processes, each measuring its
peak resident memory above what it held before reading (``ru_maxrss``; the libraries every method needs are loaded
before), in multiples of the decoded uint8 array:
- ``bakeoff read``: ``load_class_folders``, which decodes every file straight into one preallocated array per split;
- ``bakeoff load``: ``load_dataset`` on the folder, which also scales to float32 (4 bytes a pixel) and splits off
  validation, as every stage's data goes;
- baseline ``list then stack``, measured in the same run: a list of decoded images stacked into one array, the
  usual first version, which holds two copies at the end.
Goal (issue 29): reading holds no more than one copy of the decoded array (a multiple under 2).

    python bench/image_folders.py [--images 100000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import mnist_path, record

CLASSES = 10
SIDE = 28

#: Each method runs in a fresh interpreter: imports first, then the resident memory before reading, then the read.
PROBE = r"""
import json, resource, sys, time
from pathlib import Path
import numpy as np
from PIL import Image
from bakeoff.search.data import load_dataset
from bakeoff.search.data.images import load_class_folders

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def current_mb():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20

folder, method = Path(sys.argv[1]), sys.argv[2]
# What every method loads anyway (scikit-learn's splitter, Pillow's PNG decoder) is loaded before the baseline
# memory is read, so the figure is the data's, not the libraries'.
from sklearn.model_selection import train_test_split
with Image.open(next(folder.glob("*/*.png"))) as first:
    first.load()
before, started = current_mb(), time.perf_counter()
if method == "bakeoff read":
    raw, _ = load_class_folders(folder, progress=lambda line: None)
    images = len(raw["y_train"]) + len(raw["y_test"])
elif method == "bakeoff load":
    data = load_dataset(str(folder), warn=lambda line: None)
    images = len(data.y_train) + len(data.y_val) + len(data.y_test)
else:
    files = sorted(folder.glob("*/*.png"))
    x = np.stack([np.asarray(Image.open(path).convert("L")) for path in files])
    images = len(x)
seconds = time.perf_counter() - started
print(json.dumps({"images": images, "seconds": seconds, "before_mb": before, "peak_mb": peak_mb()}))
"""

METHODS = ("list then stack", "bakeoff read", "bakeoff load")


def write_folder(folder: Path, count: int) -> str:
    """``count`` PNGs in ten class folders; which pixels they hold."""
    from PIL import Image

    try:
        with np.load(mnist_path()) as mnist:
            x = np.concatenate([mnist["x_train"], mnist["x_test"]])
            y = np.concatenate([mnist["y_train"], mnist["y_test"]])
        pixels = "real MNIST digits, repeated past 70,000"
    except (OSError, SystemExit):
        rng = np.random.default_rng(0)
        x, y = rng.integers(0, 256, (count, SIDE, SIDE), dtype=np.uint8), np.arange(count) % CLASSES
        pixels = "random pixels (no MNIST file here)"
    for k in range(CLASSES):
        (folder / str(k)).mkdir(parents=True)
    for i in range(count):
        j = i % len(x)
        Image.fromarray(x[j]).save(folder / str(int(y[j])) / f"{i}.png")
    return pixels


def measure(folder: Path, method: str) -> dict:
    ran = subprocess.run([sys.executable, "-c", PROBE, str(folder), method], capture_output=True, text=True, check=True)
    return json.loads(ran.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=100_000)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bakeoff-images-"))
    try:
        started = time.perf_counter()
        pixels = write_folder(scratch / "folder", args.images)
        print(f"wrote {args.images:,} PNGs in {time.perf_counter() - started:.0f} s ({pixels})", flush=True)
        decoded_mb = args.images * SIDE * SIDE / 2**20
        rows = []
        for method in METHODS:
            found = measure(scratch / "folder", method)
            extra = found["peak_mb"] - found["before_mb"]
            rows.append({"method": method, "images": found["images"], "seconds": round(found["seconds"], 1),
                         "images_per_s": round(found["images"] / found["seconds"]), "peak_above_start_mb": round(extra, 1),
                         "copies_of_decoded": round(extra / decoded_mb, 2)})
            print(rows[-1], flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    baseline = rows[0]
    for row in rows[1:]:
        row["memory_vs_baseline"] = round(row["peak_above_start_mb"] / baseline["peak_above_start_mb"], 2)
    read = next(row for row in rows if row["method"] == "bakeoff read")
    record("image_folders", {"images": args.images, "pixels": pixels, "decoded_uint8_mb": round(decoded_mb, 1),
                             "rows": rows, "goal_read_under_two_copies": read["copies_of_decoded"] < 2})


if __name__ == "__main__":
    main()
