"""The one error type raised for bad reference data."""

from __future__ import annotations


class ReferenceDataError(ValueError):
    """A reference data file is missing, unreadable or inconsistent.

    Carries the file, the offending record and the reason separately so that callers
    (and tests) can tell *what* is wrong without parsing the message.
    """

    def __init__(self, file: str, record: str, reason: str) -> None:
        self.file = file
        self.record = record
        self.reason = reason
        super().__init__(f"{file}: {record}: {reason}")
