"""Errors the CLI reports as one line with exit code 2 (bad input), never as a traceback."""
from __future__ import annotations


class InputError(Exception):
    """Unreadable or malformed input: names the file and, where known, the line."""

    def __init__(self, path: str, line: int | None, message: str):
        super().__init__(message)
        self.path, self.line, self.message = str(path), line, message

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"
