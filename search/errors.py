"""Errors users cause (paths, URLs, budgets, data): the CLI prints one line and exits with code 2."""


class UserError(Exception):
    """Something the user can fix; the message says what and how."""


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (or its type), short enough for a one-line error."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__
