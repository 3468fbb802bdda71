"""Channel API keys and their rate limits (pure: the clock is passed in)."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from enum import StrEnum

from civicgrid_shared.contracts.events import Channel


class Scope(StrEnum):
    SUBMIT = "submit"  # submit appeals for the key's channels
    CALLBACK = "callback"  # record call-back answers (hotline agents)
    TRIAGE = "triage"  # read the triage queue and classify appeals


def hash_key(raw: str) -> str:
    """Keys are stored as SHA-256 hex digests only (they are long random strings)."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    key_id: str  # a name safe to log (never the key)
    sha256: str
    channels: frozenset[Channel]
    scopes: frozenset[Scope]
    rate_per_s: float
    burst: int

    def may_submit(self, channel: Channel) -> bool:
        return Scope.SUBMIT in self.scopes and channel in self.channels


@dataclass
class TokenBucket:
    """Classic token bucket: ``rate`` tokens a second, at most ``capacity`` saved up."""

    rate: float
    capacity: float
    tokens: float = field(default=-1.0)
    stamp: float = 0.0

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.capacity

    def take(self, now: float) -> float:
        """Take one token; 0.0 when allowed, else the seconds until one is available."""
        elapsed = max(0.0, now - self.stamp)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        if self.rate <= 0:
            return math.inf
        return (1.0 - self.tokens) / self.rate


class RateLimiter:
    """One bucket per key id, created on first use."""

    def __init__(self) -> None:
        self._buckets: dict[str, TokenBucket] = {}

    def check(self, key_id: str, rate: float, burst: int, now: float) -> float:
        bucket = self._buckets.get(key_id)
        if bucket is None:
            bucket = self._buckets[key_id] = TokenBucket(rate, float(burst), stamp=now)
        return bucket.take(now)
