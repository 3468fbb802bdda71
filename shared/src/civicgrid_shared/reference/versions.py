"""Data format versions the loader understands."""

from __future__ import annotations

# Written by the generator into every file header.
CURRENT_VERSION = "2026.11.1"

# A file whose header names any other version is refused: the models below were
# written for these layouts only, and silently reading a newer layout could drop fields.
SUPPORTED_VERSIONS: frozenset[str] = frozenset({CURRENT_VERSION})
