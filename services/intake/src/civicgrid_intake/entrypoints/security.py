"""X-Api-Key checks and per-key rate limits for the HTTP routes."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from civicgrid_shared.contracts.events import Channel
from fastapi import HTTPException

from civicgrid_intake.adapters.keys import KeyRing
from civicgrid_intake.domain.access import ApiKey, RateLimiter, Scope

API_KEY_HEADER = "X-Api-Key"


class AccessDenied(Exception):
    def __init__(self, status: int, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after

    def as_http(self) -> HTTPException:
        headers = None
        if self.retry_after is not None:
            headers = {"Retry-After": str(max(1, math.ceil(self.retry_after)))}
        return HTTPException(self.status, self.reason, headers=headers)


@dataclass(frozen=True)
class AnonymousPolicy:
    """Keyless submissions to the generic POST /v1/appeals (off in production)."""

    allowed: bool
    rate_per_s: float
    burst: int


class Access:
    def __init__(self, ring: KeyRing, anonymous: AnonymousPolicy,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ring = ring
        self._anonymous = anonymous
        self._limiter = RateLimiter()
        self._clock = clock

    def _throttle(self, bucket: str, rate: float, burst: int) -> None:
        wait = self._limiter.check(bucket, rate, burst, self._clock())
        if wait > 0:
            raise AccessDenied(429, "rate limit exceeded for this key", retry_after=wait)

    def authenticate(self, raw: str | None) -> ApiKey:
        if not raw:
            raise AccessDenied(401, f"missing {API_KEY_HEADER}")
        key = self._ring.find(raw)
        if key is None:
            raise AccessDenied(401, "unknown API key")
        self._throttle(key.key_id, key.rate_per_s, key.burst)
        return key

    def submitter(self, raw: str | None, channel: Channel) -> ApiKey:
        key = self.authenticate(raw)
        if not key.may_submit(channel):
            raise AccessDenied(403, f"this key may not submit for channel {channel.value}")
        return key

    def generic_key(self, raw: str | None) -> ApiKey | None:
        """The generic endpoint: a key when given (its channel is checked against the
        body's), else the anonymous policy."""
        if raw or not self._anonymous.allowed:
            return self.authenticate(raw)
        self._throttle("(anonymous)", self._anonymous.rate_per_s, self._anonymous.burst)
        return None

    def scoped(self, raw: str | None, scope: Scope, channel: Channel | None = None) -> ApiKey:
        key = self.authenticate(raw)
        if scope not in key.scopes or (channel is not None and channel not in key.channels):
            raise AccessDenied(403, f"this key has no {scope.value} permission")
        return key
