"""``python -m bakeoff.search`` runs the command line."""

from bakeoff.search.app.main import entry

entry()
