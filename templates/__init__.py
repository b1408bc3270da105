"""Jinja templates of the report, shipped as package data and found with importlib.resources."""
