"""From a finished study and its artefacts to one self-contained HTML report (no TensorFlow)."""
