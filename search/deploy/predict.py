"""``bakeoff predict``: classify image files with an exported model, scaled the way the model was trained.

The model card next to an exported model (``card.json``, written by ``bakeoff export``) gives the input shape,
the pixel scaling and the class names, so a PNG straight from disk is scaled like the training images. Every
input is checked before a runtime loads: a bad image is one line and exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bakeoff.search import layout
from bakeoff.search.deploy import runtimes
from bakeoff.search.errors import UserError
from bakeoff.search.files import read_json

NPZ_KEYS = ("x", "x_test", "images")


def read_card(model: Path) -> dict[str, Any]:
    for folder in (model.parent, model.parent.parent) if model.is_dir() else (model.parent,):
        card = folder / layout.CARD_FILE
        if card.is_file():
            return read_json(card)
    raise UserError(f"no card.json next to {model}: predict takes a model written by 'bakeoff export' (OUT/export/FAMILY/)")


def read_images(paths: list[Path], shape: list[int]) -> tuple[list[str], np.ndarray]:
    """Names and raw pixels (float32, in the model's input shape) of every image in ``paths``."""
    names, images = [], []
    for path in paths:
        if not path.is_file():
            raise UserError(f"{path} does not exist")
        if path.suffix.lower() == ".npz":
            batch = _npz(path)
            names += [f"{path}[{i}]" for i in range(len(batch))]
            images += [_fit(image, shape, f"{path}[{i}]") for i, image in enumerate(batch)]
        else:
            names.append(str(path))
            images.append(_fit(_picture(path, shape[-1]), shape, str(path)))
    return names, np.stack(images).astype(np.float32)


def _picture(path: Path, channels: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("L" if channels == 1 else "RGB"))
    except (UnidentifiedImageError, OSError) as exc:
        raise UserError(f"{path} is not an image that can be read (PNG or JPEG): {exc}") from None


def _npz(path: Path) -> np.ndarray:
    try:
        with np.load(path) as npz:
            key = next((k for k in NPZ_KEYS if k in npz.files), npz.files[0] if len(npz.files) == 1 else None)
            if key is None:
                raise UserError(f"{path} holds {', '.join(npz.files)}; name the images x (or x_test, images)")
            return np.asarray(npz[key])
    except (OSError, ValueError) as exc:
        raise UserError(f"{path} is not a readable .npz file: {exc}") from None


def _fit(image: np.ndarray, shape: list[int], name: str) -> np.ndarray:
    """``image`` with the channel axis the model takes; one line if its size is not the model's."""
    if image.ndim == len(shape) - 1:
        image = image[..., None]
    if list(image.shape) != list(shape):
        size = "×".join(map(str, image.shape))
        raise UserError(f"{name} is {size} but the model takes {'×'.join(map(str, shape))} images (height×width×channels)")
    if not np.issubdtype(image.dtype, np.number):
        raise UserError(f"{name} does not hold numbers")
    return image


def predict_files(model: Path, images: list[Path]) -> list[str]:
    """One line per image: its name, the predicted class and its probability."""
    model = model.expanduser()
    if not model.exists():
        raise UserError(f"no model at {model}")
    runtimes.format_of(model)
    card = read_card(model)
    names, pixels = read_images([p.expanduser() for p in images], card["input"]["shape"])
    scaling = card["input"]["scaling"]
    x = (pixels - np.float32(scaling["offset"])) / np.float32(scaling["scale"])
    run = runtimes.load_given(model)
    probabilities = np.concatenate([run(x[i:i + 256]) for i in range(0, len(x), 256)])
    classes = card["classes"]
    best = probabilities.argmax(axis=1)
    return [f"{name}: {classes[k]} (probability {probabilities[i, k]:.4f})" for i, (name, k) in enumerate(zip(names, best))]
