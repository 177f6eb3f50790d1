"""The one error of the loading wing: a file that cannot be read.

It lives apart from the readers (fits, snana, inputs) because all of them raise it and
the loader and the command catch it; the loader reports it per pair and carries on.
"""

from __future__ import annotations


class SnanaError(Exception):
    """A file that cannot be read; str() is one line that starts with the file's name."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
