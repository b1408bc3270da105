"""``python -m bakeoff.search`` runs the command line."""

from bakeoff.search.cli import entry

entry()
