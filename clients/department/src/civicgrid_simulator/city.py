"""The simulated city at work: citizens, grid workers, departments, the platform's desks.

Who does what, and through which door of the platform:

- **citizens and grid workers** send appeals over intake's channel routes (hotline,
  grid app, web boards, Open311; the generic ``POST /v1/appeals`` for the other
  channels) with the channels' development keys, and answer call-backs through
  ``POST /v1/callbacks`` (the hotline's call-back desk);
- **departments** answer their tasks as department systems do: about 40% of the units
  on the responses topic, like ``clients/department`` (response id = uuid5 of the task
  event id and the action), the others through the workbench API with their
  ``dev-<unit id>`` keys;
- **the city platform's desk** decides extension requests and dispatches by hand the
  cases held in its queue (``dev-city-platform``); **the triage operator** chooses the
  matter of appeals the classifier was unsure about (``dev-operator``).

The simulator learns what happened to its appeals from dispatch's cases topic, with one
consumer of its own (no group, from the end): it plays every unit, and on the embedded
broker a consumer's cost grows with the partitions it polls (one partition per unit's
task topic), so one 6-partition topic is far cheaper than thousands of task topics.
By default it acts only on its own appeals' cases (``--all-cases`` for every case).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import itertools
import math
import os
import random
import time
import uuid
import zlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from civicgrid_shared.contracts.envelope import EnvelopeError, EventPayload, decode, new_event
from civicgrid_shared.contracts.events import (
    EVENT_TYPES,
    CallbackRequested,
    CaseAssigned,
    CaseClosed,
    CaseEscalated,
    CaseExtensionDecided,
    CaseExtensionRequested,
    CaseMerged,
    CaseRegistered,
    CaseReopened,
    CaseResolved,
    CaseReturned,
    EscalationKind,
    TerritoryRef,
    UnitAction,
    UnitResponse,
)
from civicgrid_shared.contracts.topics import CASES, RESPONSES
from civicgrid_shared.reference.catalog import MatterCatalog
from civicgrid_shared.reference.loader import load_matters, load_territory, load_units
from civicgrid_shared.reference.models import Matter
from civicgrid_shared.reference.units import UnitRegistry

from civicgrid_simulator.mix import (
    REPEAT_SHARE,
    AppealFactory,
    AppealPlan,
    callback_answer,
    can_repeat,
    generic_body,
    request,
)
from civicgrid_simulator.schedule import (
    CITY_TZ,
    DAY,
    ESCALATE_AFTER_HOURS,
    HOUR,
    HOURLY_PROFILE,
    Behaviour,
    SimClock,
    Step,
    Windows,
    callback_delay,
    infer_scale,
    next_arrival,
    plan_assignment,
    plan_response,
)
from civicgrid_simulator.stats import Stats

CITY_PLATFORM = "city-platform"
TOWNSHIP_OFFICE = "township_office"
STALE = (403, 404, 409)  # the case moved on before the unit acted: not an error
SOURCE = "/civicgrid/simulator"

_RESULTS = ("已派人现场处置，问题已解决。", "已协调相关单位完成整改，现场已恢复正常。",
            "已联系当事人说明情况并妥善处理。", "已安排维修人员修复完毕。")
_RETURN_REASONS = ("该事项不属于本单位职责，请重新派遣。", "地址不在本单位辖区，请核实后重新派遣。")
_EXTENSION_REASONS = ("需要协调施工单位，申请延期。", "涉及多个部门，需要更多时间处理。")
_ESCALATE_REASONS = ("超出本级处置权限，请上级协调。", "情况复杂，需上级部门统筹处理。")
_WHISTLE_REASONS = ("需要县级部门到场联合处置。", "涉及执法事项，请职能部门报到。")

_HTTP_PATHS = {"sign_for": "sign-for", "start": "start", "return": "return",
               "extension": "extension", "escalate": "escalate", "whistle": "escalate",
               "resolve": "resolve"}
_ACTIONS = {"sign_for": UnitAction.SIGN_FOR, "start": UnitAction.START,
            "return": UnitAction.RETURN, "extension": UnitAction.REQUEST_EXTENSION,
            "escalate": UnitAction.ESCALATE, "whistle": UnitAction.ESCALATE,
            "resolve": UnitAction.RESOLVE}


@dataclass(frozen=True)
class Endpoints:
    intake: str = "http://127.0.0.1:8001"
    dispatch: str = "http://127.0.0.1:8002"
    analytics: str | None = "http://127.0.0.1:8004"
    bootstrap: str = "127.0.0.1:9092"


@dataclass(frozen=True)
class Options:
    rate: float = 1.0  # appeals per real second, on average
    days: int | None = None  # play this many simulated days, then stop
    scale: float = 1.0  # dispatch's CIVICGRID_DISPATCH_TIME_SCALE
    seed: int | None = None
    progress_every: float = 5.0
    all_cases: bool = False
    parent_pid: int | None = None
    # Live mode: on-time work is done within this many real seconds (see Windows).
    work_cap: float = 300.0
    kafka_share: float = 0.4  # units answering on the responses topic
    max_in_flight: int = 32
    behaviour: Behaviour = field(default_factory=Behaviour)


@dataclass
class AppealInfo:
    plan: AppealPlan
    tracking_code: str
    triage: bool
    accepted_at: float  # epoch seconds


@dataclass
class CaseView:
    case_id: uuid.UUID
    appeal_id: uuid.UUID
    matter_code: str
    territory: TerritoryRef
    unit_id: str | None = None
    epoch: int = 0  # bumped whenever the case leaves the unit's hands
    resolve_due: datetime | None = None
    reopen_count: int = 0
    open: bool = True


def manual_target(units: UnitRegistry, matter: Matter | None,
                  territory: TerritoryRef) -> str | None:
    """Where a city-platform operator sends a case it holds: the owning county
    department, else the township office, else the county's command centre."""
    tries: list[tuple[str, str | None]] = []
    if matter is not None:
        tries.append((matter.department_kind, territory.county_code))
    tries += [(TOWNSHIP_OFFICE, territory.township_code),
              ("command_centre", territory.county_code)]
    for kind, code in tries:
        unit = units.find(kind, code) if code else None
        if unit is not None:
            return unit.id
    return None


class Simulator:
    def __init__(self, endpoints: Endpoints, options: Options,
                 out: Callable[[str], None] = print) -> None:
        self.ep = endpoints
        self.opt = options
        self.out = out
        self.stats = Stats()
        self.rng = random.Random(options.seed)
        self.catalog: MatterCatalog = load_matters()
        self.units: UnitRegistry = load_units()
        self.factory = AppealFactory(self.rng, self.catalog, load_territory().grids)
        self.appeals: dict[uuid.UUID, AppealInfo] = {}
        self.cases: dict[uuid.UUID, CaseView] = {}
        self._case_by_appeal: dict[uuid.UUID, uuid.UUID] = {}
        # Events of cases whose appeal's 201 answer has not been read yet (under load the
        # case can be registered before intake's answer reaches us): held for a while.
        self._early: dict[uuid.UUID, tuple[float, list[tuple[EventPayload, uuid.UUID]]]] = {}
        self._early_by_appeal: dict[uuid.UUID, uuid.UUID] = {}
        self._early_merged: dict[uuid.UUID, float] = {}
        self._repeatable: deque[uuid.UUID] = deque(maxlen=500)
        self._heap: list[tuple[float, int, Callable[[], Awaitable[None]]]] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._jobs: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(options.max_in_flight)
        self._hinted: dict[str, float] = {}
        self._channel_keys = True
        self._scale_checked = False
        self._ready = asyncio.Event()
        self.finished = False  # the days of days mode were all played
        self._http: httpx.AsyncClient | None = None
        self._producer: AIOKafkaProducer | None = None
        self.clock = SimClock(options.scale, time.time(), datetime.now(UTC))
        # Days mode plays the whole limits out; live mode keeps on-time work short.
        self.work_cap = math.inf if options.days is not None or options.work_cap <= 0 \
            else options.work_cap

    # -- running ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> Stats:
        start = time.time()
        now = datetime.now(UTC)
        # Days mode starts on day 1 at 00:00 in the city (the arrival profile follows the
        # simulated hour); live mode's clock is the real one.
        sim_start = now if self.opt.days is None else now.astimezone(CITY_TZ).replace(
            hour=0, minute=0, second=0, microsecond=0)
        self.clock = SimClock(self.opt.scale, start, sim_start)
        end = start + self.opt.days * DAY * self.opt.scale if self.opt.days else None
        self._http = httpx.AsyncClient(timeout=10.0, trust_env=False, limits=httpx.Limits(
            max_connections=self.opt.max_in_flight + 4))
        loops = [
            asyncio.create_task(self._watch_cases(stop), name="cases"),
            asyncio.create_task(self._timers(stop), name="timers"),
            asyncio.create_task(self._arrivals(stop, end), name="arrivals"),
            asyncio.create_task(self._desks(stop), name="desks"),
            asyncio.create_task(self._progress(stop), name="progress"),
            asyncio.create_task(self._watch_parent(stop), name="parent"),
        ]
        try:
            if end is None:
                await stop.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=max(0.0, end - time.time()))
                self.finished = not stop.is_set()
        finally:
            stop.set()
            self._wake.set()
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            if self._jobs:
                _, pending = await asyncio.wait(self._jobs, timeout=5.0)
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
            if self._producer is not None:
                with contextlib.suppress(Exception):
                    await self._producer.stop()
            await self._http.aclose()
        self.out(self.stats.line(self.clock.label(time.time(), self.opt.days)))
        return self.stats

    def _spawn(self, job: Callable[[], Awaitable[None]]) -> None:
        async def guarded() -> None:
            async with self._slots:
                try:
                    await job()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a bug or an outage: counted, said, not fatal
                    self._error("internal", f"a simulated action failed: "
                                            f"{type(exc).__name__}: {exc}")

        task = asyncio.create_task(guarded())
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)

    def at(self, when: float, job: Callable[[], Awaitable[None]]) -> None:
        """Run ``job`` at real epoch time ``when``."""
        heapq.heappush(self._heap, (when, next(self._seq), job))
        self._wake.set()

    async def _timers(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            now = time.time()
            while self._heap and self._heap[0][0] <= now:
                self._spawn(heapq.heappop(self._heap)[2])
            wait = min(self._heap[0][0] - now, 1.0) if self._heap else 1.0
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(wait, 0.0))

    def _error(self, kind: str, hint: str) -> None:
        """Count an error; say what to do about it (each kind at most once a minute)."""
        self.stats.errors[kind] += 1
        now = time.monotonic()
        if now - self._hinted.get(kind, -1e9) >= 60.0:
            self._hinted[kind] = now
            self.out(f"[simulator] {kind}: {hint}")

    def _say_once(self, kind: str, text: str) -> None:
        if kind not in self._hinted:
            self._hinted[kind] = time.monotonic()
            self.out(f"[simulator] {text}")

    async def _watch_parent(self, stop: asyncio.Event) -> None:
        parent = self.opt.parent_pid
        if parent is None:
            return
        while not stop.is_set():
            if os.getppid() != parent:
                self.out("[simulator] the process that started me is gone: stopping")
                stop.set()
                return
            await asyncio.sleep(1.0)

    async def _progress(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(self.opt.progress_every)
            self._forget_early(time.monotonic() - 60.0)  # not ours after all
            await self._poll_analytics()
            self.out(self.stats.line(self.clock.label(time.time(), self.opt.days)))

    async def _poll_analytics(self) -> None:
        if not self.ep.analytics or self._http is None:
            return
        try:
            r = await self._http.get(f"{self.ep.analytics}/v1/indicators",
                                     params={"window": "today"}, timeout=2.0)
            if r.status_code == 200:
                self.stats.analytics = dict(r.json().get("total") or {})
        except (httpx.HTTPError, ValueError):
            self.stats.analytics = {}

    # -- HTTP --------------------------------------------------------------------------------

    async def _call(self, method: str, url: str, key: str | None,
                    body: dict[str, Any] | None = None,
                    params: dict[str, Any] | None = None) -> httpx.Response | None:
        """One request, retried after 429/503 a few times and once after another 5xx (as a
        department system would; the error is still counted); None if unreachable."""
        assert self._http is not None
        headers = {"X-Api-Key": key} if key else {}
        retried_5xx = False
        for attempt in range(4):
            try:
                r = await self._http.request(method, url, json=body, params=params,
                                             headers=headers)
            except httpx.HTTPError as exc:
                service = url.split("/")[2]
                self._error("unreachable", f"no answer from {service} ({type(exc).__name__}):"
                                           " is the platform up? (make up, or make run)")
                return None
            if r.status_code in (429, 503) and attempt < 3:
                await asyncio.sleep(min(float(r.headers.get("Retry-After", "1") or 1), 5.0))
                continue
            if r.status_code >= 500 and not retried_5xx:
                retried_5xx = True
                self._server_error(r, url.split("/")[2])
                await asyncio.sleep(0.2)
                continue
            return r
        return None

    def _server_error(self, r: httpx.Response, what: str) -> None:
        self._error(f"http-{r.status_code}", f"{what} answered {r.status_code} to "
                                             f"{r.request.method} {r.request.url.path}: a "
                                             "service is in trouble; its log (.run/logs/) "
                                             "says why. Retried once.")

    # -- citizens --------------------------------------------------------------------------------

    async def _arrivals(self, stop: asyncio.Event, end: float | None) -> None:
        await self._ready.wait()
        days = self.opt.days is not None
        t = time.time()
        while not stop.is_set():
            t = next_arrival(self.rng, max(t, time.time() - 5.0), self.opt.rate,
                             self.clock.hour_weight if days else None, max(HOURLY_PROFILE))
            if end is not None and t >= end:
                return
            delay = t - time.time()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                if stop.is_set():
                    return
            plan = self._repeat_or_new()
            self._spawn(functools.partial(self._submit, plan))

    def _repeat_or_new(self) -> AppealPlan:
        if self._repeatable and self.rng.random() < REPEAT_SHARE:
            now = time.time()
            for _ in range(5):
                appeal_id = self.rng.choice(self._repeatable)
                info = self.appeals.get(appeal_id)
                case = self._case_of(appeal_id)
                if info is None or case is None or not case.open:
                    continue
                window = info.plan.matter.duplicate_window_hours * HOUR * self.opt.scale
                if now - info.accepted_at < window * 0.8:
                    self.stats.repeats += 1
                    return self.factory.repeat(info.plan)
        return self.factory.next()

    def _case_of(self, appeal_id: uuid.UUID) -> CaseView | None:
        case_id = self._case_by_appeal.get(appeal_id)
        return self.cases.get(case_id) if case_id is not None else None

    async def _submit(self, plan: AppealPlan) -> None:
        external_id = self.factory.external_id(plan)
        path, body, key = request(plan, external_id, datetime.now(UTC))
        if key is not None and not self._channel_keys:
            path, body, key = "/v1/appeals", generic_body(plan, external_id), None
        r = await self._call("POST", f"{self.ep.intake}{path}", key, body)
        if r is not None and r.status_code in (401, 403) and path != "/v1/appeals":
            self._channel_keys = False
            self._say_once("keys", "intake refuses the channels' development keys: sending "
                                   "through the generic POST /v1/appeals instead. Start intake "
                                   "with CIVICGRID_DEV_CHANNEL_KEYS=1 (make run does) to use "
                                   "the channel routes and record call-backs.")
            r = await self._call("POST", f"{self.ep.intake}/v1/appeals", None,
                                 generic_body(plan, external_id))
        if r is None:
            return
        if r.status_code in (200, 201):
            self._accepted(plan, r.json())
        elif r.status_code in (400, 422) and plan.outside_city:
            self.stats.refused += 1  # as it should: the point is outside the city
        elif r.status_code in (400, 422):
            self._error("refused", f"intake refused a simulated {plan.channel} appeal "
                                   f"({r.status_code}: {_reasons(r)}): a simulator bug, "
                                   "please report it with this line")
        elif r.status_code in (401, 403):
            self._error("no-key", "intake refuses keyless appeals on POST /v1/appeals: run "
                                  "intake with CIVICGRID_ENV=local or "
                                  "CIVICGRID_DEV_CHANNEL_KEYS=1")
        elif r.status_code >= 500:
            self._server_error(r, "intake")
        else:
            self._error(f"http-{r.status_code}", f"intake answered {r.status_code} to an "
                                                 f"appeal: {_reasons(r)}")

    def _accepted(self, plan: AppealPlan, data: Any) -> None:
        if isinstance(data, list):  # Open311: [{"service_request_id", "token"}]
            data = {"appeal_id": data[0]["service_request_id"],
                    "tracking_code": data[0]["token"], "status": "received"}
        appeal_id = uuid.UUID(str(data["appeal_id"]))
        triage = data.get("status") == "triage"
        self.appeals[appeal_id] = AppealInfo(plan, str(data["tracking_code"]), triage,
                                             time.time())
        self.stats.appeals[plan.channel] += 1
        if triage:
            self.stats.triage += 1
        elif can_repeat(plan) and plan.repeat_of is None:
            self._repeatable.append(appeal_id)
        self._replay_early(appeal_id)

    # -- the platform's desks -----------------------------------------------------------------

    def _desk_interval(self) -> float:
        return min(max(0.5 * HOUR * self.opt.scale, 1.0), 10.0)

    async def _desks(self, stop: asyncio.Event) -> None:
        await self._ready.wait()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._desk_interval())
            if stop.is_set():
                return
            await self._platform_queue()
            await self._triage_queue()

    def _mine(self, case_id: uuid.UUID) -> bool:
        return self.opt.all_cases or case_id in self.cases

    async def _platform_queue(self) -> None:
        r = await self._call("GET", f"{self.ep.dispatch}/v1/platform/queue",
                             f"dev-{CITY_PLATFORM}", params={"limit": 200})
        if r is None:
            return
        if r.status_code != 200:
            self._desk_refused(r, "the platform queue (dev-city-platform)")
            return
        for item in r.json().get("items", []):
            case_id = uuid.UUID(item["case_id"])
            if item.get("unit_id") != CITY_PLATFORM or not self._mine(case_id) \
                    or item.get("requested_due"):
                continue  # extension requests are decided as they come (see _on_event)
            matter = self.catalog.matter(item.get("matter_code") or "")
            target = manual_target(self.units, matter,
                                   TerritoryRef.model_validate(item.get("territory") or {}))
            if target is None:
                continue
            a = await self._call("POST", f"{self.ep.dispatch}/v1/platform/cases/{case_id}/"
                                 "assign", f"dev-{CITY_PLATFORM}", {"unit_id": target})
            self._counted_platform(a, "assigned by hand")

    async def _decide_extension(self, case_id: uuid.UUID) -> None:
        granted = self.rng.random() < self.opt.behaviour.grants
        r = await self._call(
            "POST", f"{self.ep.dispatch}/v1/platform/cases/{case_id}/extension-decision",
            f"dev-{CITY_PLATFORM}",
            {"granted": granted, "reason": "同意延期" if granted else "请按期办结"})
        self._counted_platform(r, "extension granted" if granted else "extension refused")

    def _counted_platform(self, r: httpx.Response | None, what: str) -> None:
        if r is None:
            return
        if r.status_code == 200:
            self.stats.platform[what] += 1
        elif r.status_code in STALE:
            self.stats.stale += 1
        else:
            self._desk_refused(r, "the platform desk")

    def _desk_refused(self, r: httpx.Response, what: str) -> None:
        if r.status_code == 401:
            self._error("dispatch-keys", f"dispatch refuses the development keys for {what}:"
                                         " it takes them with CIVICGRID_ENV=local (make run) "
                                         "or CIVICGRID_DEV_UNIT_KEYS=1")
        elif r.status_code >= 500:
            self._server_error(r, "dispatch")
        else:
            self._error(f"http-{r.status_code}", f"{what} answered {r.status_code}: "
                                                 f"{_reasons(r)}")

    async def _triage_queue(self) -> None:
        if not self.stats.triage:
            return
        r = await self._call("GET", f"{self.ep.intake}/v1/triage", "dev-operator",
                             params={"limit": 200})
        if r is None:
            return
        if r.status_code in (401, 403):
            self._error("triage-key", "intake refuses the triage operator's key dev-operator: "
                                      "start intake with CIVICGRID_DEV_CHANNEL_KEYS=1")
            return
        if r.status_code != 200:
            return
        for item in r.json():
            info = self.appeals.get(uuid.UUID(item["appeal_id"]))
            if info is None:
                continue
            c = await self._call("POST", f"{self.ep.intake}/v1/triage/{item['appeal_id']}/"
                                 "classify", "dev-operator",
                                 {"matter_code": info.plan.matter.code})
            if c is not None and c.status_code == 200:
                self.stats.classified += 1
                info.triage = False

    # -- the call-back desk ---------------------------------------------------------------------

    async def _answer_callback(self, appeal_id: uuid.UUID, solved: bool,
                               satisfaction: str) -> None:
        r = await self._call("POST", f"{self.ep.intake}/v1/callbacks", "dev-hotline",
                             {"appeal_id": str(appeal_id), "solved": solved,
                              "satisfaction": satisfaction})
        if r is None:
            return
        if r.status_code == 201:
            self.stats.callbacks += 1
        elif r.status_code in STALE:
            self.stats.stale += 1
        elif r.status_code in (401, 403):
            self._error("callback-key", "intake refuses the hotline's call-back key "
                                        "dev-hotline: start intake with "
                                        "CIVICGRID_DEV_CHANNEL_KEYS=1 (make run does)")
        elif r.status_code >= 500:
            self._server_error(r, "intake")
        else:
            self._error(f"http-{r.status_code}", f"intake answered {r.status_code} to a "
                                                 f"call-back: {_reasons(r)}")

    # -- the cases topic -------------------------------------------------------------------------

    async def _watch_cases(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.ep.bootstrap, group_id=None, enable_auto_commit=False,
                auto_offset_reset="latest", fetch_max_wait_ms=50, metadata_max_age_ms=5000,
                request_timeout_ms=10000)
            try:
                await consumer.start()
                await self._position(consumer, stop)
                if self._producer is None:
                    self._producer = AIOKafkaProducer(bootstrap_servers=self.ep.bootstrap,
                                                      acks="all", enable_idempotence=False)
                    await self._producer.start()
                self._ready.set()
                while not stop.is_set():
                    batches = await consumer.getmany(timeout_ms=200, max_records=500)
                    for records in batches.values():
                        for record in records:
                            self._on_record(record)
            except KafkaError as exc:
                self._error("broker", f"the broker at {self.ep.bootstrap} is not answering "
                                      f"({type(exc).__name__}): is the platform up? retrying")
                await asyncio.sleep(3.0)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()

    async def _position(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        """Assign every partition of the cases topic and start at its end."""
        while not stop.is_set():
            await consumer.topics()  # refreshes the metadata
            partitions = consumer.partitions_for_topic(CASES.name)
            if partitions:
                tps = [TopicPartition(CASES.name, p) for p in sorted(partitions)]
                consumer.assign(tps)
                await consumer.seek_to_end(*tps)
                for tp in tps:
                    await consumer.position(tp)
                return
            self._say_once("no-topic", f"waiting for the topic {CASES.name} (dispatch creates "
                                       "it when it starts) ...")
            await asyncio.sleep(2.0)

    def _on_record(self, record: ConsumerRecord) -> None:
        try:
            env = decode(record.headers or (), record.key, record.value, record.topic)
        except EnvelopeError:
            return
        model = EVENT_TYPES.get(env.type)
        if model is None:
            return
        try:
            event = model.model_validate_json(env.data)
        except ValueError:
            return
        self._on_event(event, env.id)

    def _on_event(self, event: EventPayload, event_id: uuid.UUID) -> None:
        if isinstance(event, CaseRegistered):
            if event.appeal_id in self.appeals or self.opt.all_cases:
                self.cases[event.case_id] = CaseView(event.case_id, event.appeal_id,
                                                     event.matter_code, event.territory)
                self._case_by_appeal[event.appeal_id] = event.case_id
                self.stats.seen["registered"] += 1
            else:
                self._hold(event.case_id, event, event_id)
                self._early_by_appeal[event.appeal_id] = event.case_id
            return
        if isinstance(event, CaseMerged):
            if event.appeal_id in self.appeals:
                self.stats.seen["merged"] += 1
            elif not self.opt.all_cases:
                self._early_merged[event.appeal_id] = time.monotonic()
            return
        case_id = getattr(event, "case_id", None)
        if not isinstance(case_id, uuid.UUID):
            return
        case = self.cases.get(case_id)
        if case is None:
            if case_id in self._early:
                self._hold(case_id, event, event_id)
            return
        name = event.event_type.rsplit(".", 1)[-1]
        self.stats.seen[name] += 1
        if isinstance(event, CaseAssigned):
            self._assigned(case, event, event_id)
        elif isinstance(event, CaseEscalated) and event.kind is EscalationKind.WHISTLE:
            self._summoned(case, event)
        elif isinstance(event, CaseReturned | CaseEscalated | CaseResolved):
            case.epoch += 1  # whatever the unit planned is void
        elif isinstance(event, CaseExtensionRequested):
            delay = min(self.clock.real(self.rng.uniform(0.1, 2.0) * HOUR),
                        self.work_cap * self.rng.uniform(0.05, 0.3))
            self.at(time.time() + delay, lambda: self._decide_extension(case_id))
        elif isinstance(event, CaseExtensionDecided):
            case.resolve_due = event.resolve_due
        elif isinstance(event, CallbackRequested):
            self._callback(case, event)
        elif isinstance(event, CaseReopened):
            case.epoch += 1
            case.reopen_count = event.reopen_count
        elif isinstance(event, CaseClosed):
            case.open = False
            case.epoch += 1
            self.cases.pop(case_id, None)
            self.appeals.pop(case.appeal_id, None)
            self._case_by_appeal.pop(case.appeal_id, None)

    def _hold(self, case_id: uuid.UUID, event: EventPayload, event_id: uuid.UUID) -> None:
        self._early.setdefault(case_id, (time.monotonic(), []))[1].append((event, event_id))

    def _forget_early(self, before: float) -> None:
        for case_id in [c for c, (t, _) in self._early.items() if t < before]:
            self._early.pop(case_id, None)
        known = set(self._early)
        for appeal_id in [a for a, c in self._early_by_appeal.items() if c not in known]:
            self._early_by_appeal.pop(appeal_id, None)
        for appeal_id in [a for a, t in self._early_merged.items() if t < before]:
            self._early_merged.pop(appeal_id, None)

    def _replay_early(self, appeal_id: uuid.UUID) -> None:
        """The appeal is ours after all: apply what happened to it in the meantime."""
        if self._early_merged.pop(appeal_id, None) is not None:
            self.stats.seen["merged"] += 1
        case_id = self._early_by_appeal.pop(appeal_id, None)
        held = self._early.pop(case_id, None) if case_id is not None else None
        for event, event_id in held[1] if held is not None else ():
            self._on_event(event, event_id)

    # -- the departments -------------------------------------------------------------------------

    def _assigned(self, case: CaseView, task: CaseAssigned, event_id: uuid.UUID) -> None:
        case.epoch += 1
        case.unit_id = task.unit_id
        case.resolve_due = task.resolve_due
        sign_window = (task.sign_for_due - task.assigned_at).total_seconds()
        if sign_window <= 0 or task.unit_id == CITY_PLATFORM:
            return  # resolved on the spot (nothing to do), or held for manual dispatch
        self._check_scale(task)
        windows = Windows(sign_window, (task.resolve_due - task.assigned_at).total_seconds(),
                          ESCALATE_AFTER_HOURS * HOUR * self.opt.scale, self.work_cap)
        unit = self.units.unit(task.unit_id)
        steps = plan_assignment(
            self.rng, windows, reason=task.reason.value,
            can_escalate=unit is not None and unit.parent_id is not None,
            township_office=unit is not None and unit.kind == TOWNSHIP_OFFICE,
            behaviour=self.opt.behaviour)
        base = task.assigned_at.timestamp()
        self._next_step(case.case_id, case.epoch, task.unit_id, steps, base, event_id)

    def _next_step(self, case_id: uuid.UUID, epoch: int, unit_id: str, steps: list[Step],
                   base: float, cause: uuid.UUID) -> None:
        """Steps run one after the other: each schedules the next when it is done."""
        if not steps:
            return
        step, rest = steps[0], steps[1:]

        async def act() -> None:
            case = self.cases.get(case_id)
            if case is None or case.epoch != epoch or case.unit_id != unit_id:
                return  # the case has moved on: the plan is void
            if await self._act(case, unit_id, step, cause):
                self._next_step(case_id, epoch, unit_id, rest, base, cause)

        self.at(base + step.at, act)

    def _kafka_unit(self, unit_id: str) -> bool:
        return zlib.crc32(unit_id.encode()) % 100 < self.opt.kafka_share * 100

    def _body(self, case: CaseView, unit_id: str, step: Step) -> dict[str, Any] | None:
        rng, a = self.rng, step.action
        if a == "return":
            return {"reason": rng.choice(_RETURN_REASONS)}
        if a == "extension":
            due = case.resolve_due or datetime.now(UTC)
            more = timedelta(seconds=max(step.extra.get("more", 60.0), 1.0))
            return {"requested_due": (due + more).isoformat(),
                    "reason": rng.choice(_EXTENSION_REASONS)}
        if a == "escalate":
            return {"reason": rng.choice(_ESCALATE_REASONS), "kind": "escalate"}
        if a == "whistle":
            matter = self.catalog.matter(case.matter_code)
            county = case.territory.county_code
            dept = self.units.find(matter.department_kind, county) \
                if matter is not None and county else None
            if dept is None or dept.id == unit_id:
                return None  # nobody to summon: the township handles it alone
            return {"reason": rng.choice(_WHISTLE_REASONS), "kind": "whistle"}
        if a == "resolve":
            return {"result": rng.choice(_RESULTS)}
        return {}

    async def _act(self, case: CaseView, unit_id: str, step: Step, cause: uuid.UUID) -> bool:
        """One unit action; whether the unit goes on with its plan."""
        body = self._body(case, unit_id, step)
        if body is None:
            return True
        if self._kafka_unit(unit_id):
            return await self._act_kafka(case, unit_id, step, body, cause)
        r = await self._call("POST", f"{self.ep.dispatch}/v1/workbench/tasks/{case.case_id}/"
                             f"{_HTTP_PATHS[step.action]}", f"dev-{unit_id}", body)
        if r is None:
            return False
        if r.status_code == 200:
            self.stats.actions[step.action] += 1
            self.stats.via["http"] += 1
            return True
        if r.status_code in STALE:
            self.stats.stale += 1
        else:
            self._desk_refused(r, f"the workbench ({step.action})")
        return False

    async def _act_kafka(self, case: CaseView, unit_id: str, step: Step,
                         body: dict[str, Any], cause: uuid.UUID) -> bool:
        """As clients/department does: a unit.response on the responses topic, keyed by
        case id, its id derived from the task event's id and the action."""
        if self._producer is None:
            return False
        response_id = uuid.uuid5(cause, step.action)
        requested = body.get("requested_due")
        response = UnitResponse(
            response_id=response_id, case_id=case.case_id, unit_id=unit_id,
            action=_ACTIONS[step.action], reason=body.get("reason"), result=body.get("result"),
            requested_due=datetime.fromisoformat(requested) if requested else None,
            escalation_kind=EscalationKind(body["kind"]) if "kind" in body else None,
            acted_at=datetime.now(UTC),
        )
        out = new_event(response, topic=RESPONSES.name, key=str(case.case_id),
                        source=f"/departments/{unit_id}", event_id=response_id,
                        causation_id=cause)
        try:
            await self._producer.send_and_wait(out.topic, value=out.value,
                                               key=out.key.encode(), headers=out.headers)
        except KafkaError as exc:
            self._error("broker", f"could not publish a unit response ({type(exc).__name__}):"
                                  f" is the broker at {self.ep.bootstrap} up?")
            return False
        self.stats.actions[step.action] += 1
        self.stats.via["kafka"] += 1
        return True

    def _summoned(self, case: CaseView, event: CaseEscalated) -> None:
        """吹哨报到: each summoned county department reports, mostly in time."""
        if event.respond_due is None:
            return
        window = (event.respond_due - event.escalated_at).total_seconds()
        for dept in event.to_unit_ids:
            when = event.escalated_at.timestamp() + plan_response(
                self.rng, window, self.opt.behaviour, self.work_cap)

            async def respond(dept: str = dept) -> None:
                r = await self._call("POST", f"{self.ep.dispatch}/v1/workbench/tasks/"
                                     f"{case.case_id}/respond", f"dev-{dept}", {})
                if r is not None and r.status_code == 200:
                    self.stats.actions["respond"] += 1
                    self.stats.via["http"] += 1
                elif r is not None and r.status_code in STALE:
                    self.stats.stale += 1
                elif r is not None:
                    self._desk_refused(r, "the workbench (respond)")

            self.at(when, respond)

    def _callback(self, case: CaseView, event: CallbackRequested) -> None:
        answer = callback_answer(self.rng, case.reopen_count)
        if answer is None:
            return  # never picks up: dispatch closes the case when the call-back is due
        window = (event.due - event.requested_at).total_seconds()
        when = event.requested_at.timestamp() + callback_delay(self.rng, window,
                                                               self.work_cap)
        appeal_id = event.appeal_id
        self.at(when, lambda: self._answer_callback(appeal_id, answer.solved,
                                                    answer.satisfaction.value))

    def _check_scale(self, task: CaseAssigned) -> None:
        """Warn once when dispatch runs at another time scale than the simulator thinks."""
        if self._scale_checked:
            return
        matter = self.catalog.matter(task.matter_code or "")
        if matter is None or task.priority != matter.priority:
            return
        seen = infer_scale(task.assigned_at, task.sign_for_due, matter.sign_for_hours)
        if seen is None:
            return
        self._scale_checked = True
        if abs(seen / self.opt.scale - 1) > 0.1:
            self.out(f"[simulator] dispatch runs at time scale {seen:.6g}, the simulator "
                     f"was told {self.opt.scale:.6g}: arrivals per simulated day and the "
                     f"day count will be off. Pass --time-scale {seen:.6g}, or restart "
                     "dispatch with CIVICGRID_DISPATCH_TIME_SCALE set to the simulator's.")


def _reasons(r: httpx.Response) -> str:
    """Field paths and reasons of an error answer (never the values we sent)."""
    try:
        data = r.json()
    except ValueError:
        return "no details"
    if isinstance(data, dict) and isinstance(data.get("errors"), list):
        return "; ".join(f"{e.get('field')}: {e.get('reason')}" for e in data["errors"]
                         if isinstance(e, dict))[:300]
    if isinstance(data, list):  # Open311 errors
        return "; ".join(str(e.get("description")) for e in data if isinstance(e, dict))[:300]
    if isinstance(data, dict) and "detail" in data:
        return str(data["detail"])[:300]
    return "no details"
