"""Domain errors. Messages name rules and fields, never a party's data."""

from __future__ import annotations

from civicgrid_shared.errors import SafeError


class Conflict(SafeError):
    """The request is well-formed but the case is not in a state that allows it (409)."""


class Rejected(SafeError):
    """The request breaks a rule of the catalog or the procedure (422)."""


class OutsideDiscretion(Rejected):
    """A decision outside the discretion benchmark of its severity tier."""


class NotFound(SafeError):
    """No such case for this team (404: other teams' cases are not revealed)."""
