"""Data in: sources, validation, the seeded split, and the split prepared once for workers and later stages.

Outside this package, import from it (``from bakeoff.search.data import load_dataset``); inside, from the module
that holds a name, so no module depends on the package's own ``__init__``.
"""

from bakeoff.search.data.dataset import Dataset, SearchData
from bakeoff.search.data.load import DATA_ENV, VAL_FRACTION, check_source, load_dataset, resolve_source

__all__ = ["DATA_ENV", "VAL_FRACTION", "Dataset", "SearchData", "check_source", "load_dataset", "resolve_source"]
