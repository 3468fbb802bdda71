"""End-to-end benchmark: appeals over HTTP through intake and dispatch to analytics, with
the bare baseline (bench/baseline.py) in the same run.

    make bench                                  # = uv run python -m bench.e2e
    make bench BENCH_ARGS="--seconds 20 --rates 50,200,1000"
    uv run python -m bench.e2e [--seconds 60] [--clients 64] [--rates 200,1000]
    uv run python -m bench.e2e --growth 100000,1000000,10000000

Starts its own stack on free ports (PostgreSQL with ``track_commit_timestamp = on``,
set before the services start; the run directory is deleted at the end unless
``--keep``). The load generator is a minimal keep-alive HTTP/1.1 client on asyncio
streams (as services/intake/bench/bench_http.py), so it costs little CPU; its own CPU is
reported. Each appeal has its own phone and a matter without a spatial duplicate rule,
so none is merged as a duplicate.

Phases (default run, ``make bench``):
- **warm-up** (``--warmup-seconds``, not counted): creates most units' task topics, as
  in production where they exist.
- **throughput:** ``--clients`` connections post appeals back to back for
  ``--seconds``. ``accepted_per_s`` = 201 answers ÷ the posting time;
  ``platform_per_s`` = appeals whose case.assigned is stored in analytics ÷ the time from
  the first request until the last one is counted (polled every 0.1 s). CPU seconds
  per appeal of each process (``/proc/<pid>/stat``, user + system, process tree) over
  the phase including the drain; RSS at the end (``VmRSS`` for the services; for
  PostgreSQL and the broker the sum of ``Pss`` over their processes, so shared buffers
  count once).
- **latency at fixed offered rates** (``--rates``, each ``--latency-seconds``): an open
  loop (a request is sent at its due time on an idle connection of
  ``--latency-connections``; if none is idle it is late). From the 201 (this process's
  wall clock when the answer is read) to (a) the broker's ack of the case.assigned
  record on the unit's task topic: ``dispatch.outbox.published_at``, which the relay
  stamps with ``clock_timestamp()`` after the broker acked the record (acks=all), and
  (b) the commit that made the event count in analytics: of the transaction that last
  wrote the appeal's ``case_facts`` row, with ``assigned_at`` set
  (``pg_xact_commit_timestamp(xmin)``; since session 8 the projection's fold, which
  follows the consumer's commit of the inbox row; before, the same transaction. A later
  write to the row, e.g. a deadline warning, can only make it later). A phase is
  flagged ``rate_achieved: NO`` when fewer than 95% of the offered rate was sent, fewer
  than 95% were accepted, or more than 5% of the requests waited for a connection.
- **baseline** (bench/baseline.py, unless ``--no-baseline``): the same throughput and
  fixed-rate phases through one hand-written aiokafka + asyncpg hop on the same
  PostgreSQL and broker; then the ratios platform ÷ baseline.

``--growth SIZES`` runs instead the cost-growth phases. For each size (cumulative):
- fill dispatch (``cases`` + ``case_appeals``, 2/3 closed; no transitions or deadlines,
  so the scheduler has nothing to fire) set-based with ``generate_series`` in
  ``--fill-chunk`` steps, and analytics with the ``fill`` of
  services/analytics/bench/bench.py (``case_facts`` over the last 365 days from the
  reference territory, matters and units, then its indexes and the rollups rebuilt by
  the service's own ``rebuild_rollups``); VACUUM ANALYZE. The rollups are rebuilt
  while the rebuild is estimated (from the previous step's seconds per fact) under
  ``--rollup-budget-s``; beyond, the fill marks them not ready instead, and queries
  read the facts. A step whose fill (without the rebuild) is estimated over
  ``--fill-budget-s`` is not run; one that takes over twice its budgets is cancelled
  and growth stops. Intake's tables are not pre-filled;
- ``GET /v1/indicators?group_by=county_code`` over the last 30 full city-local days,
  ``--query-runs`` sequential requests (p50/p99 of the 200 answers; with 30 runs the
  p99 is the slowest but one; ``--query-budget-s`` caps the time), as the fill leaves
  the store, and when that was the rollups, again with them marked not ready (answered
  from the facts). The response's ``source`` says which path answered;
- a ``--growth-seconds`` throughput phase, with CPU per appeal and each service's RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import inspect
import itertools
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import mkdtemp
from types import FrameType, ModuleType
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import asyncpg
from civicgrid_shared.reference.loader import load_matters, load_territory
from civicgrid_stack.ports import Ports
from civicgrid_stack.procutil import children_of
from civicgrid_stack.stack import Stack

try:
    from bench import baseline
except ModuleNotFoundError:  # run as a script (python bench/e2e.py): bench/ is on the path
    import baseline  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
CITY_TZ = ZoneInfo("Asia/Shanghai")
SERVICES = ("intake", "dispatch", "enforcement", "analytics")

# --------------------------------------------------------------------------- load

# Appeals must not be duplicates of each other (same matter nearby, or one citizen
# twice): those are merged, not dispatched. Each has its own phone, and the matters
# chosen are those without a spatial duplicate rule (radius 0).
MATTERS: list[str] = []
_PHONES = itertools.count(1)


class Bodies:
    """Appeal bodies: a grid each (shuffled, cycling), a fresh phone each."""

    def __init__(self, seed: int, classify: bool) -> None:
        self._grids = [g.code for g in load_territory().grids]
        random.Random(seed).shuffle(self._grids)
        self._rng = random.Random(seed)
        self._i = 0
        self._classify = classify

    def __call__(self) -> dict[str, Any]:
        self._i += 1
        body: dict[str, Any] = {
            "channel": "hotline", "external_id": f"bench-{uuid.uuid4()}",
            "content": "小区门口的路灯坏了，晚上很黑。",
            "grid_code": self._grids[self._i % len(self._grids)],
            "contact_phone": f"139{next(_PHONES):08d}"}
        if not self._classify:
            body["matter_code"] = self._rng.choice(MATTERS)  # chosen by the hotline agent
        return body


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


class _Closed(ConnectionError):
    """The server had closed the connection before it read the request."""


class Http:
    """One keep-alive HTTP/1.1 connection: pre-encoded requests, Content-Length bodies
    (after services/intake/bench/bench_http.py). A kept-alive connection the server
    closed while idle (uvicorn's keep-alive timeout is 5 s) is reopened and the request
    sent once more; any other failure raises."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reused = False

    async def open(self) -> Http:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._reused = False
        return self

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        try:
            return await self._request(method, path, body)
        except _Closed:
            self.close()
            return await self._request(method, path, body)

    async def _request(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if self._writer is None:
            await self.open()
        assert self._reader is not None and self._writer is not None
        reused = self._reused
        try:
            self._writer.write(
                f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                .encode() + body)
            status_line = await self._reader.readline()
        except (ConnectionResetError, BrokenPipeError) as exc:
            self.close()
            raise (_Closed() if reused else exc) from exc
        if not status_line:
            self.close()
            raise _Closed() if reused else ConnectionError("the server closed the connection")
        length, close = 0, False
        while True:
            line = await self._reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            match name.strip().lower():
                case "content-length":
                    length = int(value.strip())
                case "connection":
                    close = value.strip().lower() == "close"
                case "transfer-encoding":
                    raise ConnectionError("chunked responses are not supported")
        data = await self._reader.readexactly(length)
        self._reused = True
        if close:
            self.close()
        return int(status_line.split(b" ")[1]), data


async def open_all(port: int, n: int) -> list[Http]:
    return list(await asyncio.gather(*(Http("127.0.0.1", port).open() for _ in range(n))))


# --------------------------------------------------------------------- processes

def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of one process so far, as bench/dispatch.py does."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _status_kib(pid: int, key: str, path: str = "status") -> int:
    for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


class Meter:
    """CPU and memory of every process of the stack, and of this one (the load)."""

    def __init__(self, stack: Stack) -> None:
        self.roots: dict[str, int | None] = {n: stack.services[n].pid for n in SERVICES
                                             if n in stack.services}
        self.roots["postgres"] = stack.postgres.postmaster_pid()
        self.roots["broker"] = stack.broker.pid

    def _tree(self, name: str) -> list[int]:
        root = self.roots.get(name)
        return [] if root is None else [root, *children_of(root)]

    def cpu(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name in self.roots:
            total = 0.0
            for pid in self._tree(name):
                with contextlib.suppress(OSError, IndexError, ValueError):
                    total += cpu_seconds(pid)
            out[name] = total
        t = os.times()
        out["bench"] = t.user + t.system
        return out

    def memory_mib(self) -> dict[str, float]:
        """VmRSS of each service (its process tree); Pss sums for PostgreSQL and the
        broker (their processes share memory)."""
        out: dict[str, float] = {}
        for name in self.roots:
            shared = name in ("postgres", "broker")
            total = 0
            for pid in self._tree(name):
                with contextlib.suppress(OSError, ValueError):
                    total += (_status_kib(pid, "Pss", "smaps_rollup") if shared
                              else _status_kib(pid, "VmRSS"))
            out[name] = round(total / 1024, 1)
        return out


def cpu_ms_per(before: dict[str, float], after: dict[str, float], n: int
               ) -> dict[str, float]:
    per = {k: round((after[k] - before[k]) * 1000 / max(n, 1), 3) for k in after}
    per["total"] = round(sum(per.values()), 3)
    return per


def load() -> float:
    return round(os.getloadavg()[0], 2)


# ------------------------------------------------------------------------ phases

async def _count_assigned(conn: asyncpg.Connection, since: datetime) -> int:
    return int(await conn.fetchval(
        "SELECT count(*) FROM analytics.case_facts WHERE received_at >= $1 "
        "AND assigned_at IS NOT NULL", since))


async def _drain(conn: asyncpg.Connection, since: datetime, target: int,
                 limit_s: float = 600.0, stall_s: float = 20.0) -> tuple[int, float]:
    """Poll until ``target`` appeals received since ``since`` are counted in analytics
    (or no progress for ``stall_s``); returns the count and when it was last seen to
    change (monotonic)."""
    started = changed = time.monotonic()
    last = -1
    while True:
        n = await _count_assigned(conn, since)
        now = time.monotonic()
        if n != last:
            last, changed = n, now
        if n >= target or now - changed > stall_s or now - started > limit_s:
            return n, changed
        await asyncio.sleep(0.1)


async def closed_loop(stack: Stack, meter: Meter, seconds: float, clients: int,
                      bodies: Bodies) -> dict[str, Any]:
    """``clients`` connections post back to back for ``seconds``; then until counted."""
    conns = await open_all(stack.ports.intake, clients)
    db = await asyncpg.connect(stack.postgres.dsn())
    statuses: Counter[str] = Counter()
    try:
        since = datetime.now(UTC)  # intake stamps received_at when it gets the request
        load0, cpu0 = load(), meter.cpu()
        started = time.monotonic()
        deadline = started + seconds

        async def worker(c: Http) -> None:
            while time.monotonic() < deadline:
                try:
                    status, _ = await c.request("POST", "/v1/appeals", encode(bodies()))
                except (ConnectionError, asyncio.IncompleteReadError):
                    status = 0
                    c.close()
                statuses[str(status)] += 1

        await asyncio.gather(*(worker(c) for c in conns))
        http_done = time.monotonic()
        accepted = statuses["201"]
        counted, last = await _drain(db, since, accepted)
        cpu1 = meter.cpu()
    finally:
        for c in conns:
            c.close()
        await db.close()
    return {"seconds": round(http_done - started, 1), "clients": clients,
            "accepted": accepted, "statuses": dict(statuses),
            "accepted_per_s": round(accepted / (http_done - started), 1),
            "counted": counted,
            "platform_per_s": round(counted / max(last - started, 1e-9), 1),
            "drain_s": round(max(last - http_done, 0.0), 1),
            "cpu_ms_per_appeal": cpu_ms_per(cpu0, cpu1, counted),
            "memory_mib": meter.memory_mib(), "load_before": load0, "load_after": load()}


def _pct(name: str, values: list[float]) -> dict[str, float]:
    return baseline.percentiles(name, values)


async def latency(stack: Stack, rate: float, seconds: float, connections: int,
                  bodies: Bodies, commit_ts: bool) -> dict[str, Any]:
    conns = await open_all(stack.ports.intake, connections)
    idle: asyncio.Queue[Http] = asyncio.Queue()
    for c in conns:
        idle.put_nowait(c)
    answered: dict[uuid.UUID, datetime] = {}
    statuses: Counter[str] = Counter()
    tasks: set[asyncio.Task[None]] = set()

    async def one(c: Http, payload: bytes) -> None:
        try:
            status, data = await c.request("POST", "/v1/appeals", payload)
        except (ConnectionError, asyncio.IncompleteReadError):
            status, data = 0, b""
            c.close()
        finally:
            idle.put_nowait(c)
        if status == 201:
            answered[uuid.UUID(json.loads(data)["appeal_id"])] = datetime.now(UTC)
        statuses[str(status)] += 1

    load0 = load()
    issued = late = 0
    started = time.monotonic()
    try:
        deadline = started + seconds
        while (now := time.monotonic()) < deadline:
            for _ in range(int((now - started) * rate) - issued):
                if idle.empty():
                    late += 1
                c = await idle.get()
                if time.monotonic() >= deadline:  # waited past the end: not sent
                    idle.put_nowait(c)
                    break
                task = asyncio.create_task(one(c, encode(bodies())))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                issued += 1
            await asyncio.sleep(0.002)
        issue_s = time.monotonic() - started
        await asyncio.gather(*tasks)
        answer_s = time.monotonic() - started
    finally:
        for c in conns:
            c.close()
    task_at, analytics_at = await _pipeline_times(stack, answered, commit_ts)
    to_task = [(t - answered[a]).total_seconds() for a, t in task_at.items()]
    to_analytics = [(t - answered[a]).total_seconds() for a, t in analytics_at.items()]
    accepted = len(answered)
    offered = issued / issue_s
    ok = offered >= 0.95 * rate and accepted >= 0.95 * issued and late <= 0.05 * issued
    return {"rate": rate, "seconds": round(issue_s, 1), "connections": connections,
            "offered_per_s": round(offered, 1), "accepted": accepted,
            "accepted_per_s": round(accepted / answer_s, 1), "late": late,
            "statuses": dict(statuses), "rate_achieved": "yes" if ok else "NO",
            **_pct("task", to_task), **_pct("analytics", to_analytics),
            "load_before": load0, "load_after": load()}


async def _pipeline_times(stack: Stack, answered: dict[uuid.UUID, datetime],
                          commit_ts: bool, limit_s: float = 120.0
                          ) -> tuple[dict[uuid.UUID, datetime], dict[uuid.UUID, datetime]]:
    """Per appeal: when its case.assigned was acked on the unit's task topic, and when
    it counted in analytics (the commit of its fact row with ``assigned_at``; without
    commit timestamps, analytics' inbox row for it: the consumer's, not the fold's)
    (waits until all are there, or no progress for 15 s)."""
    counted = ("(SELECT pg_xact_commit_timestamp(f.xmin) FROM analytics.case_facts f "
               "WHERE f.appeal_id = c.appeal_id AND f.assigned_at IS NOT NULL)"
               if commit_ts else
               "(SELECT i.processed_at FROM analytics.inbox i WHERE i.event_id = o.event_id)")
    query = f"""
        SELECT c.appeal_id,
               min(o.published_at) FILTER (WHERE o.topic LIKE 'civicgrid.tasks.%') AS task_at,
               min({counted}) AS analytics_at
        FROM dispatch.cases c
        JOIN dispatch.outbox o ON o.key = c.case_id::text
                              AND o.event_type = 'civicgrid.case.assigned'
        WHERE c.appeal_id = ANY($1::uuid[])
        GROUP BY c.appeal_id"""  # noqa: S608 - a constant expression only
    db = await asyncpg.connect(stack.postgres.dsn())
    try:
        started = changed = time.monotonic()
        last = -1
        while True:
            rows = await db.fetch(query, list(answered))
            done = sum(1 for r in rows if r["task_at"] and r["analytics_at"])
            now = time.monotonic()
            if done != last:
                last, changed = done, now
            if done >= len(answered) or now - changed > 15 or now - started > limit_s:
                break
            await asyncio.sleep(0.5)
    finally:
        await db.close()
    return ({r["appeal_id"]: r["task_at"] for r in rows if r["task_at"]},
            {r["appeal_id"]: r["analytics_at"] for r in rows if r["analytics_at"]})


async def run_baseline(stack: Stack, meter: Meter, args: argparse.Namespace,
                       rates: list[float]) -> dict[str, Any]:
    hop = baseline.Hop(stack.postgres.dsn(), stack.broker.bootstrap)
    bodies = Bodies(7, args.classify)
    await hop.start()
    out: dict[str, Any] = {}
    try:
        await baseline.throughput(hop, 3.0, args.clients, bodies)  # warm-up
        cpu0 = meter.cpu()
        t = await baseline.throughput(hop, args.baseline_seconds, args.clients, bodies)
        per = cpu_ms_per(cpu0, meter.cpu(), int(t["counted"]))
        t["cpu_ms_per_message"] = {k: per[k] for k in ("postgres", "broker", "bench")}
        t["cpu_ms_per_message"]["total"] = round(sum(t["cpu_ms_per_message"].values()), 3)
        out["throughput"] = t
        print(f"baseline throughput: {json.dumps(t)}", flush=True)
        for rate in rates:
            lat = await baseline.latency(hop, rate, args.latency_seconds, bodies)
            out[f"latency_{rate:g}"] = lat
            print(f"baseline latency at {rate:g}/s: {json.dumps(lat)}", flush=True)
    finally:
        await hop.stop()
    return out


def _ratio(a: Any, b: Any) -> float | None:
    if not isinstance(a, int | float) or not isinstance(b, int | float) or not b:
        return None
    return round(a / b, 3)


# ------------------------------------------------------------------------ growth

FactFill = Callable[[asyncpg.Connection, int], Awaitable[dict[str, float]]]


def _analytics_fill(rollups: bool) -> FactFill:
    """``fill`` of services/analytics/bench/bench.py (imported by path) with its own
    reference data and a year of cases: ``fill(conn, cases, days, ref)`` drops the
    fact indexes, inserts, builds them again, VACUUM ANALYZEs and rebuilds the rollups.
    It creates temporary tables: one connection per call. Without ``rollups``, the
    module's ``rebuild_rollups`` is replaced (in this process only) by one that marks
    the rollups not ready, so the service answers from the facts."""
    path = ROOT / "services" / "analytics" / "bench" / "bench.py"
    spec = importlib.util.spec_from_file_location("civicgrid_analytics_bench", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    params = list(inspect.signature(module.fill).parameters)
    if params[:4] != ["conn", "cases", "days", "ref"]:
        raise RuntimeError(f"{path}: fill{tuple(params)} is not the fill(conn, cases, days, "
                           "ref) this benchmark knows: adapt bench/e2e.py")
    ref = module._reference()
    if not rollups:
        async def not_ready(conn: asyncpg.Connection) -> int:
            await conn.execute("UPDATE rollup_state SET ready = false")
            return 0

        setattr(module, "rebuild_rollups", not_ready)  # noqa: B010 - a module attribute

    async def fill(conn: asyncpg.Connection, cases: int) -> dict[str, float]:
        timings: dict[str, float] = await module.fill(conn, cases, 365.0, ref)
        return timings

    return fill


DISPATCH_FILL = """
WITH s AS (
    SELECT g, gen_random_uuid() AS case_id, gen_random_uuid() AS appeal_id,
           now() - (g % 525600) * interval '1 minute' AS t,
           '1405' || lpad((g % 10)::text, 2, '0') AS county
    FROM generate_series($1::bigint, $2::bigint) g
), c AS (
    INSERT INTO dispatch.cases (case_id, appeal_id, case_number, state, channel,
        matter_code, category_code, priority, county_code, township_code, unit_id, tier,
        received_at, registered_at, assigned_at, sign_for_due, resolve_due, signed_at,
        resolved_at, closed_at, updated_at)
    SELECT case_id, appeal_id, 'G' || lpad(g::text, 10, '0'),
           CASE WHEN g % 3 <> 0 THEN 'closed' ELSE 'assigned' END, 'hotline',
           'SZ-' || lpad((g % 40)::text, 3, '0'), 'SZ', 'normal', county,
           county || lpad((g % 12)::text, 3, '0'), 'unit-' || (g % 300), 'township',
           t, t, t, t + interval '2 hours', t + interval '7 days',
           CASE WHEN g % 3 <> 0 THEN t + interval '1 hour' END,
           CASE WHEN g % 3 <> 0 THEN t + interval '30 hours' END,
           CASE WHEN g % 3 <> 0 THEN t + interval '40 hours' END, t
    FROM s
    RETURNING case_id, appeal_id, received_at
)
INSERT INTO dispatch.case_appeals (appeal_id, case_id, channel, received_at)
SELECT appeal_id, case_id, 'hotline', received_at FROM c
"""


async def fill_to(stack: Stack, start: int, target: int, chunk: int, rollups: bool
                  ) -> dict[str, Any]:
    """Add cases ``start+1 .. target``: dispatch chunk by chunk, then analytics' facts
    (and rollups) by its bench's fill; VACUUM ANALYZE."""
    fill_facts = _analytics_fill(rollups)
    dsn = stack.postgres.dsn()
    t0 = time.monotonic()
    conn = await asyncpg.connect(dsn, command_timeout=None)
    try:
        for lo in range(start + 1, target + 1, chunk):
            await conn.execute(DISPATCH_FILL, lo, min(target, lo + chunk - 1))
            print(f"  dispatch: {min(target, lo + chunk - 1):,} cases "
                  f"({time.monotonic() - t0:.0f} s)", flush=True)
        for table in ("dispatch.cases", "dispatch.case_appeals"):
            await conn.execute(f"VACUUM ANALYZE {table}")
    finally:
        await conn.close()
    dispatch_s = time.monotonic() - t0
    conn = await asyncpg.connect(dsn, command_timeout=None)
    try:
        await conn.execute("SET search_path = analytics")
        timings = await fill_facts(conn, target - start)
    finally:
        await conn.close()
    return {"cases": target, "fill_s": round(time.monotonic() - t0, 1),
            "dispatch_s": round(dispatch_s, 1),
            **{f"analytics_{k}": round(v, 1) for k, v in timings.items()}}


async def rollups_ready(stack: Stack, ready: bool) -> bool:
    """Mark the analytics rollups (not) ready; False if this schema has none."""
    conn = await asyncpg.connect(stack.postgres.dsn())
    try:
        if not await conn.fetchval("SELECT to_regclass('analytics.rollup_state') IS NOT NULL"):
            return False
        await conn.execute("UPDATE analytics.rollup_state SET ready = $1", ready)
        return True
    finally:
        await conn.close()


async def query_latency(stack: Stack, runs: int, budget_s: float) -> dict[str, Any]:
    """``runs`` sequential grouped queries (stops early after ``budget_s``); p50/p99 of
    the 200 answers, and which path answered (the response's ``source``)."""
    midnight = datetime.now(CITY_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    path = "/v1/indicators?" + urlencode({
        "group_by": "county_code", "from": (midnight - timedelta(days=30)).isoformat(),
        "to": midnight.isoformat()})
    c = await Http("127.0.0.1", stack.ports.analytics).open()
    times: list[float] = []
    statuses: Counter[str] = Counter()
    out: dict[str, Any] = {}
    started = time.monotonic()
    try:
        for _ in range(runs):
            if time.monotonic() - started > budget_s:
                break
            t = time.perf_counter()
            status, data = await c.request("GET", path)
            took = time.perf_counter() - t
            statuses[str(status)] += 1
            if status == 200:
                times.append(took)
                out.setdefault("source", json.loads(data).get("source"))
            else:
                out.setdefault("error", data[:300].decode(errors="replace"))
    finally:
        c.close()
    return {**out, "statuses": dict(statuses), **_pct("query", times)}


async def growth(stack: Stack, meter: Meter, args: argparse.Namespace) -> None:
    sizes = [int(float(s)) for s in args.growth.split(",") if s]
    bodies = Bodies(3, args.classify)
    await closed_loop(stack, meter, args.warmup_seconds, args.clients, bodies)
    filled, per_row, rollup_per_fact = 0, 0.0, 0.0
    rollups = args.rollup_budget_s > 0
    for size in sizes:
        tag = f"growth {size:,}"
        need = size - filled
        if rollups and rollup_per_fact * size > args.rollup_budget_s:
            rollups = False
            print(f"{tag}: rollups not rebuilt from here on: about "
                  f"{rollup_per_fact * size:.0f} s estimated from the previous step, over "
                  f"--rollup-budget-s {args.rollup_budget_s:.0f}", flush=True)
        estimate = need * per_row
        if per_row and estimate > args.fill_budget_s:
            print(f"{tag}: not filled: about {estimate:.0f} s estimated from the previous "
                  f"step's rate, over --fill-budget-s {args.fill_budget_s:.0f}", flush=True)
            break
        print(f"{tag}: filling {need:,} cases ...", flush=True)
        try:
            f = await asyncio.wait_for(
                fill_to(stack, filled, size, args.fill_chunk, rollups),
                2 * (args.fill_budget_s + (args.rollup_budget_s if rollups else 0)))
        except TimeoutError:
            print(f"{tag}: fill cancelled (over twice its budget): the store is "
                  "half-filled, growth stops here", flush=True)
            break
        rebuild_s = f.get("analytics_rollups_s", 0.0) if rollups else 0.0
        per_row = (f["fill_s"] - rebuild_s) / max(need, 1)
        if rollups:
            rollup_per_fact = rebuild_s / size
        filled = size
        print(f"{tag}: fill {json.dumps({**f, 'rollups_rebuilt': rollups})}", flush=True)
        q = await query_latency(stack, args.query_runs, args.query_budget_s)
        print(f"{tag}: query {json.dumps(q)}", flush=True)
        if q.get("source") == "rollups" and await rollups_ready(stack, False):
            q = await query_latency(stack, args.query_runs, args.query_budget_s)
            print(f"{tag}: query, rollups marked not ready {json.dumps(q)}", flush=True)
            await rollups_ready(stack, True)
        t = await closed_loop(stack, meter, args.growth_seconds, args.clients, bodies)
        print(f"{tag}: throughput {json.dumps(t)}", flush=True)


# -------------------------------------------------------------------------- main

def machine() -> str:
    cpu = "unknown cpu"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    mem = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal:")), 0)
    return (f"{platform.node()}: {cpu}, {cores} cores, {mem / 2**20:.0f} GiB, "
            f"Python {platform.python_version()}")


async def _enable_commit_timestamps(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("ALTER SYSTEM SET track_commit_timestamp = on")
    finally:
        await conn.close()


async def _commit_ts_on(dsn: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        return str(await conn.fetchval("SHOW track_commit_timestamp")) == "on"
    finally:
        await conn.close()


async def run(stack: Stack, args: argparse.Namespace) -> None:
    meter = Meter(stack)
    commit_ts = await _commit_ts_on(stack.postgres.dsn())
    print(f"machine: {machine()}; date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
          f"command: {' '.join([Path(sys.executable).name, '-m', 'bench.e2e', *sys.argv[1:]])}; "
          f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"track_commit_timestamp: {'on' if commit_ts else 'off (inbox processed_at used)'}",
          flush=True)
    if args.growth:
        await growth(stack, meter, args)
        return
    rates = [float(r) for r in args.rates.split(",") if r]
    await closed_loop(stack, meter, args.warmup_seconds, args.clients, Bodies(9, args.classify))
    t = await closed_loop(stack, meter, args.seconds, args.clients, Bodies(1, args.classify))
    print(f"throughput: {json.dumps(t)}", flush=True)
    lats: dict[float, dict[str, Any]] = {}
    for i, rate in enumerate(rates):
        lats[rate] = await latency(stack, rate, args.latency_seconds,
                                   args.latency_connections, Bodies(10 + i, args.classify),
                                   commit_ts)
        print(f"latency at {rate:g}/s: {json.dumps(lats[rate])}", flush=True)
    if args.no_baseline:
        return
    base = await run_baseline(stack, meter, args, rates)
    bt = base["throughput"]
    ratios: dict[str, Any] = {
        "accepted_per_s": _ratio(t["accepted_per_s"], bt["accepted_per_s"]),
        "platform_per_s": _ratio(t["platform_per_s"], bt["counted_per_s"]),
        "cpu_ms_per_appeal": _ratio(t["cpu_ms_per_appeal"]["total"],
                                    bt["cpu_ms_per_message"]["total"])}
    for rate in rates:
        bl, pl = base[f"latency_{rate:g}"], lats[rate]
        ratios[f"p50_at_{rate:g}"] = _ratio(pl.get("analytics_p50_ms"), bl.get("lat_p50_ms"))
        ratios[f"p99_at_{rate:g}"] = _ratio(pl.get("analytics_p99_ms"), bl.get("lat_p99_ms"))
    print(f"platform / baseline: {json.dumps(ratios)}", flush=True)
    print("(throughput: platform_per_s / baseline counted_per_s; CPU: every process of the "
          "platform incl. this load generator / PostgreSQL + broker + the baseline process; "
          "latency: platform 201 → analytics commit / baseline first commit → second "
          "commit)", flush=True)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--warmup-seconds", type=float, default=10.0)
    parser.add_argument("--rates", default="200,1000")
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--latency-connections", type=int, default=256)
    parser.add_argument("--baseline-seconds", type=float, default=30.0)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--classify", action="store_true",
                        help="send no matter code: intake classifies the text")
    parser.add_argument("--growth", default="",
                        help="cost growth instead: cumulative sizes, e.g. 100000,1000000")
    parser.add_argument("--growth-seconds", type=float, default=20.0)
    parser.add_argument("--query-runs", type=int, default=30)
    parser.add_argument("--query-budget-s", type=float, default=120.0)
    parser.add_argument("--rollup-budget-s", type=float, default=600.0,
                        help="rebuild the analytics rollups while estimated under this "
                             "(0: never)")
    parser.add_argument("--fill-chunk", type=int, default=1_000_000)
    parser.add_argument("--fill-budget-s", type=float, default=600.0)
    parser.add_argument("--keep", action="store_true", help="keep the run directory")
    args = parser.parse_args()
    MATTERS.extend(m.code for m in load_matters().all()
                   if not m.enforcement and m.duplicate_radius_m == 0)
    signal.signal(signal.SIGTERM, _terminate)
    run_dir = Path(mkdtemp(prefix="civicgrid-bench-"))
    stack = Stack(run_dir, Ports.free(), extra_env={"CIVICGRID_LOG_LEVEL": "WARNING"})
    try:
        # Commit timestamps must be on before the services start: a restart later
        # would cut their connections.
        stack.postgres.start()
        asyncio.run(_enable_commit_timestamps(stack.postgres.dsn()))
        stack.postgres.stop()
        stack.start(True, 120.0)
        asyncio.run(run(stack, args))
    finally:
        stack.stop()
        if stack.postgres.is_running():
            stack.postgres.stop()
        if args.keep:
            print(f"run directory kept: {run_dir}")
        else:
            shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
