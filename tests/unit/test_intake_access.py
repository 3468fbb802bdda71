"""Channel keys, scopes, rate limits and the body size limit (no network, no database)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from civicgrid_intake.adapters.keys import (
    DEV_KEYS,
    PRODUCTION_KEYS,
    KeyFileError,
    key_ring,
    load_keys,
)
from civicgrid_intake.domain.access import Scope, hash_key
from civicgrid_intake.entrypoints.limits import BodySizeLimit
from civicgrid_intake.entrypoints.security import Access, AccessDenied, AnonymousPolicy
from civicgrid_intake.keys import main as make_key
from civicgrid_shared.contracts.events import Channel
from fastapi import FastAPI, Request


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _access(anonymous: bool = False) -> tuple[Access, Clock]:
    clock = Clock()
    return Access(key_ring(None, dev_keys=True), AnonymousPolicy(anonymous, 1.0, 1), clock), clock


def test_files_hold_digests_only_and_production_has_no_dev_keys() -> None:
    assert len(key_ring(None, dev_keys=False)) == 0
    dev = load_keys(DEV_KEYS)
    assert all(k.sha256 == hash_key(k.key_id) for k in dev)  # dev keys: key == key id
    for path in (DEV_KEYS, PRODUCTION_KEYS):
        for entry in json.loads(path.read_text())["keys"]:
            assert set(entry) == {"key_id", "sha256", "channels", "scopes", "rate_per_s",
                                  "burst"}


def test_channel_keys_submit_only_for_their_channel() -> None:
    access, _ = _access()
    assert access.submitter("dev-hotline", Channel.HOTLINE).key_id == "dev-hotline"
    with pytest.raises(AccessDenied) as denied:
        access.submitter("dev-hotline", Channel.GRID_APP)
    assert denied.value.status == 403
    for raw in (None, "", "dev-nothing"):
        with pytest.raises(AccessDenied) as denied:
            access.submitter(raw, Channel.HOTLINE)
        assert denied.value.status == 401
    assert access.scoped("dev-operator", Scope.TRIAGE).key_id == "dev-operator"
    with pytest.raises(AccessDenied):
        access.scoped("dev-grid_app", Scope.CALLBACK, Channel.HOTLINE)
    assert access.scoped("dev-hotline", Scope.CALLBACK, Channel.HOTLINE)


def test_rate_limit_answers_with_retry_after() -> None:
    access, clock = _access()
    access.submitter("dev-slow", Channel.HOTLINE)
    access.submitter("dev-slow", Channel.HOTLINE)
    with pytest.raises(AccessDenied) as denied:
        access.submitter("dev-slow", Channel.HOTLINE)
    assert denied.value.status == 429
    http = denied.value.as_http()
    assert http.headers == {"Retry-After": "5"}  # 0.2 tokens a second
    clock.now = 5.0
    access.submitter("dev-slow", Channel.HOTLINE)  # refilled


def test_anonymous_generic_policy() -> None:
    closed, _ = _access(anonymous=False)
    with pytest.raises(AccessDenied) as denied:
        closed.generic_key(None)
    assert denied.value.status == 401
    open_, _ = _access(anonymous=True)
    assert open_.generic_key(None) is None
    with pytest.raises(AccessDenied) as denied:
        open_.generic_key(None)  # burst 1
    assert denied.value.status == 429
    assert open_.generic_key("dev-web_board") is not None


def test_key_files_are_validated(tmp_path: Path) -> None:
    bad = tmp_path / "keys.json"
    bad.write_text(json.dumps({"version": "1", "keys": [
        {"key_id": "x", "sha256": "not-hex", "channels": ["hotline"], "scopes": ["submit"],
         "rate_per_s": 1, "burst": 1}]}))
    with pytest.raises(KeyFileError, match=r"keys\.0\.sha256"):
        load_keys(bad)
    bad.write_text(json.dumps({"version": "2", "keys": []}))
    with pytest.raises(KeyFileError, match="version"):
        load_keys(bad)


def test_key_maker_prints_digest_entry(capsys: pytest.CaptureFixture[str]) -> None:
    assert make_key(["cc-1", "hotline", "--scope", "submit", "--scope", "callback"]) == 0
    out, err = capsys.readouterr()
    entry = json.loads(out)
    key = err.split(": ", 1)[1].strip()
    assert entry["sha256"] == hash_key(key) and key not in out
    assert entry["channels"] == ["hotline"] and entry["scopes"] == ["submit", "callback"]


async def test_body_size_limit_with_and_without_content_length() -> None:
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    limited = BodySizeLimit(app, max_bytes=1024)
    transport = httpx.ASGITransport(app=limited)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        ok = await client.post("/echo", content=b"x" * 1024)
        big = await client.post("/echo", content=b"x" * 1025)

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(3):
                yield b"y" * 500

        streamed = await client.post("/echo", content=chunks())
    assert ok.status_code == 200 and ok.json() == {"size": 1024}
    assert big.status_code == 413
    assert streamed.status_code == 413
