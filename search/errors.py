"""Errors users cause (paths, URLs, budgets, data): the CLI prints one line and exits with code 2."""


class UserError(Exception):
    """Something the user can fix; the message says what and how."""
