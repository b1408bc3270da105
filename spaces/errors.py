"""The error users cause with space files and overrides: the CLI turns it into one line and exit code 2."""


class SpaceError(ValueError):
    """A search space or space file is not valid."""
