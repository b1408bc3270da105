"""Keras training: the Keras backend, model builders, speed settings, the fit loop with its hooks and pace."""
