"""Errors that the CLI turns into one-line messages and exit codes (2: usage/input, 1: internal)."""


class UsageError(ValueError):
    """Bad flag, bad config key or value, missing or unreadable input. The CLI exits with 2."""


class DataError(UsageError):
    """A data file that cannot be used (corrupt, truncated, wrong shape, non-finite depth)."""
