"""The data set as every stage sees it: scaled images and labels per split, and the search's view without the test
split."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


class _Shapes:
    """What a model builder asks of a data set."""

    class_names: list[str]
    x_train: np.ndarray

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


@dataclass(frozen=True)
class SearchData(_Shapes):
    """The train and validation splits: all that selection may look at. It has no test split, so no part
    of the search (either engine, the objective, the pruner) can read one."""

    source: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    class_names: list[str]


@dataclass
class Dataset(_Shapes):
    """Scaled float32 images with a channel axis, integer labels 0..K-1, and where they came from."""

    source: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    sha256: str
    info: dict[str, Any] = field(default_factory=dict)

    def search_data(self) -> SearchData:
        """What the search receives: train and validation only."""
        return SearchData(self.source, self.x_train, self.y_train, self.x_val, self.y_val, self.class_names)

    def summary(self) -> dict[str, Any]:
        """Plain facts for the manifest and the report."""
        return {
            "source": self.source,
            "sha256": self.sha256,
            "input_shape": list(self.input_shape),
            "classes": self.class_names,
            "train": int(len(self.y_train)),
            "val": int(len(self.y_val)),
            "test": int(len(self.y_test)),
            "train_class_counts": np.bincount(self.y_train, minlength=self.num_classes).tolist(),
            "val_class_counts": np.bincount(self.y_val, minlength=self.num_classes).tolist(),
            "test_class_counts": np.bincount(self.y_test, minlength=self.num_classes).tolist(),
            **self.info,
        }
