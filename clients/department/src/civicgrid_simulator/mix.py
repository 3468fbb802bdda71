"""What the simulated citizens and grid workers send (pure: no I/O, seeded randomness).

The mix, as configurable defaults:

- channels: 12345 hotline 45%, grid worker app 25% (a third of its reports "resolved on
  the spot", 即报即办, where the matter is one a grid can settle), web message boards
  12%, Open311 8%, and through the generic ``POST /v1/appeals`` the government app 5%,
  the mayor's mailbox 3% and service-centre walk-ins 2%;
- matters: weighted across the whole catalog, by category (city appearance, roads and
  utilities most often; education and agriculture least) and, inside a category, more
  for the first (commonest) matters; emergencies are rarer;
- text: Chinese free text built from the matter's own keywords, so that intake's
  classifier has something real to work on. The hotline agent picks the matter on 60% of
  calls, grid workers on 90% of reports, web boards never; a few appeals are vague on
  purpose and wait in intake's triage queue for the simulated operator;
- places: a grid of the territory registry (its centroid when a point is sent); one
  appeal in a hundred (not drawn at random, so every run of a hundred appeals has one)
  gives a point outside the city, which intake refuses (422);
- repeats: 6% of appeals report again a problem already reported (same matter, same
  place, another channel and citizen): intake flags them, dispatch merges them;
- phones: synthetic numbers from one fixed range, distinct per citizen. They are never
  printed; intake masks them.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from civicgrid_shared.contracts.events import Satisfaction
from civicgrid_shared.reference.catalog import MatterCatalog
from civicgrid_shared.reference.models import Grid, Matter

# -- channels ------------------------------------------------------------------------------

#: channel -> (share, intake route). Generic channels go through POST /v1/appeals.
CHANNEL_MIX: dict[str, tuple[float, str]] = {
    "hotline": (0.45, "hotline"),
    "grid_app": (0.25, "grid_app"),
    "web_board": (0.12, "web_board"),
    "open311": (0.08, "open311"),
    "gov_app": (0.05, "generic"),
    "mayor_mailbox": (0.03, "generic"),
    "walk_in": (0.02, "generic"),
}
#: How often the channel's sender names the matter itself (the rest is classified).
CODE_SHARE = {"hotline": 0.6, "grid_app": 0.9, "web_board": 0.0, "open311": 1.0,
              "generic": 0.2}
ON_THE_SPOT_SHARE = 0.33  # of grid-app reports whose matter a grid can settle
VAGUE_SHARE = 0.04  # appeals without a recognisable matter: intake's triage queue
OUTSIDE_EVERY = 100  # one appeal in this many gives a point outside the city (refused)
REPEAT_SHARE = 0.06  # the same problem reported again: merged as a duplicate

# Category weights (per 100 appeals, roughly): what a prefecture-level city's 12345 and
# grid reports are mostly about.
CATEGORY_WEIGHTS = {
    "CA": 14.0, "RD": 10.0, "UT": 10.0, "HS": 9.0, "TR": 7.0, "DS": 7.0, "EV": 6.0,
    "MK": 5.0, "PS": 5.0, "SW": 5.0, "LB": 4.0, "HF": 4.0, "EF": 3.0, "EM": 3.0,
    "TP": 3.0, "CS": 3.0, "ED": 2.0, "AG": 2.0,
}
EMERGENCY_FACTOR = 0.5

# A point well outside the city's bounding box (晋川市 spans 35.1-35.9 N, 112.25-113.45 E).
OUTSIDE_POINT = (36.62, 114.48)

_PLACES = {
    "new_build": ("小区门口", "小区里", "我家楼下", "小区东门旁边", "单元楼前"),
    "old_neighbourhood": ("老小区院里", "我们楼道口", "家属楼后面", "巷子口", "老楼旁边"),
    "urban_village": ("村口", "村里主街上", "出租屋附近", "村委会旁边", "菜市场边上"),
    "work_unit": ("单位家属院", "宿舍楼前", "院子大门口", "职工楼后面"),
    "suburban": ("村口路边", "城郊公路旁", "田边", "镇上街口", "学校附近"),
}
_GREETINGS = ("您好，", "你好，我要反映个问题，", "", "喂，您好，", "我想反映一下，")
_DURATIONS = ("好几天了", "已经一个多星期了", "从昨天晚上开始", "持续半个月了",
              "反复出现", "今天早上发现的", "最近一直这样")
_IMPACTS = ("影响居民正常生活，", "老人孩子出行很不方便，", "存在安全隐患，",
            "周边群众意见很大，", "", "")
_ASKS = ("请尽快处理。", "希望有关部门尽快解决。", "麻烦派人来看看。", "请相关部门管一管。",
         "谢谢！")
_VAGUE = ("这个问题我反映过好几次了，一直没人管，请领导重视。",
          "我们这边的事情拖了很久了，希望能给个说法。",
          "之前打过电话，到现在还没有结果，麻烦再催一下。")
_SPOT_NOTES = ("已现场劝导，当事人已整改。", "已组织人员现场清理完毕。",
               "已协调物业当场处理完毕。", "已现场处置，问题已解决。")
_BOARDS = ("people-board", "mayor-mailbox", "city-forum")


@dataclass(frozen=True)
class AppealPlan:
    """One appeal as a citizen or grid worker will send it."""

    seq: int
    channel: str
    route: str  # hotline | grid_app | web_board | open311 | generic
    matter: Matter
    grid: Grid
    text: str
    title: str | None
    send_code: bool  # the sender names the matter (else intake classifies the text)
    use_point: bool  # latitude/longitude rather than the grid code
    phone: str | None
    on_the_spot: bool = False
    resolution_note: str | None = None
    outside_city: bool = False
    repeat_of: int | None = None  # seq of the appeal this one repeats

    @property
    def point(self) -> tuple[float, float]:
        if self.outside_city:
            return OUTSIDE_POINT
        return self.grid.centroid_lat, self.grid.centroid_lon


class PhoneBook:
    """Synthetic, distinct mobile numbers of the citizens (never printed anywhere)."""

    def __init__(self, rng: random.Random) -> None:
        self._next = rng.randrange(10**8)

    def new(self) -> str:
        number = f"199{self._next:08d}"
        self._next = (self._next + 7919) % 10**8
        return number


def matter_weights(matters: Sequence[Matter]) -> list[float]:
    """Relative frequency of each matter: category weight shared out with a decay."""
    by_category: dict[str, list[Matter]] = {}
    for m in matters:
        by_category.setdefault(m.category_code, []).append(m)
    weight: dict[str, float] = {}
    for code, items in by_category.items():
        raw = [1.0 / (i + 1) ** 0.8 for i in range(len(items))]
        total = sum(raw)
        for m, r in zip(items, raw, strict=True):
            w = CATEGORY_WEIGHTS.get(code, 2.0) * r / total
            weight[m.code] = w * (EMERGENCY_FACTOR if m.priority == "emergency" else 1.0)
    return [weight[m.code] for m in matters]


def settles_on_the_spot(m: Matter) -> bool:
    """A matter a grid worker can settle when reporting it (即报即办)."""
    return m.expected_tier in ("grid", "community") and m.priority != "emergency" \
        and not m.enforcement


class AppealFactory:
    """Draws the next appeal of the simulated city."""

    def __init__(self, rng: random.Random, catalog: MatterCatalog, grids: Sequence[Grid],
                 run_tag: str | None = None) -> None:
        self._rng = rng
        self._matters = list(catalog.all())
        self._cum_matters = _cumulative(matter_weights(self._matters))
        self._grids = list(grids)
        self._channels = list(CHANNEL_MIX)
        self._cum_channels = _cumulative([CHANNEL_MIX[c][0] for c in self._channels])
        self._phones = PhoneBook(rng)
        self._seq = 0
        self._next_outside = 13  # the first appeal from outside the city comes early
        # External ids must not collide with an earlier run's (intake would answer the
        # earlier appeal): a tag per run, not drawn from the seeded generator.
        self.run_tag = run_tag or uuid.uuid4().hex[:8]

    def _pick_channel(self) -> str:
        return self._rng.choices(self._channels, cum_weights=self._cum_channels)[0]

    def next(self) -> AppealPlan:
        rng = self._rng
        self._seq += 1
        channel = self._pick_channel()
        route = CHANNEL_MIX[channel][1]
        matter = rng.choices(self._matters, cum_weights=self._cum_matters)[0]
        grid = rng.choice(self._grids)
        vague = route not in ("open311", "grid_app") and rng.random() < VAGUE_SHARE
        send_code = not vague and rng.random() < CODE_SHARE[route]
        on_the_spot = route == "grid_app" and settles_on_the_spot(matter) \
            and rng.random() < ON_THE_SPOT_SHARE
        outside = route != "grid_app" and self._seq >= self._next_outside
        if outside:
            self._next_outside += OUTSIDE_EVERY
        text = rng.choice(_VAGUE) if vague else compose_text(rng, matter, grid, route)
        title = None
        if route == "web_board" or (route == "hotline" and rng.random() < 0.5):
            title = f"关于{matter.name}的问题" if route == "web_board" else matter.name
            if vague:
                title = "反映问题" if route == "web_board" else None
        # Grid workers report what they found on patrol; sometimes a resident was there.
        phone = None if route == "grid_app" and rng.random() < 0.8 else self._phones.new()
        if route == "web_board" and rng.random() < 0.2:
            phone = None  # an anonymous post
        return AppealPlan(
            seq=self._seq, channel=channel, route=route, matter=matter, grid=grid,
            text=text, title=title, send_code=send_code,
            use_point=route in ("open311", "web_board") or outside
            or (route in ("hotline", "generic") and rng.random() < 0.7),
            phone=phone, on_the_spot=on_the_spot,
            resolution_note=rng.choice(_SPOT_NOTES) if on_the_spot else None,
            outside_city=outside,
        )

    def repeat(self, original: AppealPlan) -> AppealPlan:
        """The same problem, reported again by someone else on another channel."""
        self._seq += 1
        channel = self._rng.choice(("hotline", "web_board", "gov_app"))
        route = CHANNEL_MIX[channel][1]
        return replace(
            original, seq=self._seq, channel=channel, route=route, send_code=True,
            text=compose_text(self._rng, original.matter, original.grid, route),
            title=f"关于{original.matter.name}的问题" if route == "web_board" else None,
            phone=self._phones.new(), on_the_spot=False, resolution_note=None,
            use_point=original.use_point, repeat_of=original.seq,
        )

    def external_id(self, plan: AppealPlan) -> str:
        return f"sim-{self.run_tag}-{plan.seq:07d}"


def can_repeat(plan: AppealPlan) -> bool:
    """Whether a repeat of this appeal would be recognised as a duplicate by intake."""
    return plan.matter.duplicate_radius_m > 0 and not plan.outside_city \
        and not plan.on_the_spot and plan.send_code


def compose_text(rng: random.Random, matter: Matter, grid: Grid, route: str) -> str:
    """Chinese free text about the matter, worded a little differently every time."""
    place = rng.choice(_PLACES.get(grid.grid_type, _PLACES["new_build"]))
    keywords = list(matter.keywords)
    kw = rng.choice(keywords)
    problem = rng.choice((kw, f"有{kw}的情况", f"{kw}，{rng.choice(keywords)}",
                          f"{matter.name}，{kw}"))
    duration, impact, ask = rng.choice(_DURATIONS), rng.choice(_IMPACTS), rng.choice(_ASKS)
    if route == "grid_app":
        return f"巡查发现{place}{problem}，{duration}。"
    if route == "web_board":
        return f"尊敬的领导：您好！{place}{problem}，{duration}，{impact}{ask}"
    if route == "open311":
        return f"{place}{problem}，{duration}。"
    return f"{rng.choice(_GREETINGS)}{place}{problem}，{duration}，{impact}{ask}"


def request(plan: AppealPlan, external_id: str, now: datetime) -> tuple[str, dict[str, Any],
                                                                        str | None]:
    """The HTTP request for an appeal: (path, JSON body, development key of the channel).

    The key is None for the generic route (keyless on the local stack).
    """
    lat, lon = plan.point
    where: dict[str, Any] = {"latitude": lat, "longitude": lon} if plan.use_point \
        else {"grid_code": plan.grid.code}
    code = plan.matter.code if plan.send_code else None
    at = now.isoformat()
    if plan.route == "hotline":
        body: dict[str, Any] = {
            "ticket_number": external_id, "call_time": at, "transcript": plan.text,
            "callback_consent": True, **where}
        if plan.title:
            body["summary"] = plan.title
        if plan.phone:
            body["caller_phone"] = plan.phone
        if code:
            body["agent_matter_code"] = code
        return "/v1/channels/hotline/calls", body, "dev-hotline"
    if plan.route == "grid_app":
        body = {"report_id": external_id, "grid_code": plan.grid.code,
                "grid_worker_id": plan.grid.worker_id, "description": plan.text,
                "found_at": at, "media": [f"sim-photo-{external_id}"]}
        if plan.use_point:
            body.update(latitude=lat, longitude=lon)
        if plan.on_the_spot:
            body.update(resolved_on_spot=True, resolution_note=plan.resolution_note)
        if code:
            body["matter_code"] = code
        if plan.phone:
            body["contact_phone"] = plan.phone
        return "/v1/channels/grid-app/reports", body, "dev-grid_app"
    if plan.route == "web_board":
        board = _BOARDS[plan.seq % len(_BOARDS)]
        body = {"board_id": board, "message_id": external_id, "body": plan.text,
                "posted_at": at, **where}
        if plan.title:
            body["title"] = plan.title
        if plan.phone:
            body["contact"] = plan.phone
        if code:
            body["matter_code"] = code
        return "/v1/channels/web-boards/messages", body, "dev-web_board"
    if plan.route == "open311":
        body = {"api_key": "dev-open311", "service_code": plan.matter.service_code,
                "lat": lat, "long": lon, "description": plan.text}
        if plan.phone:
            body["phone"] = plan.phone
        return "/open311/v2/requests.json", body, None
    return "/v1/appeals", generic_body(plan, external_id), None


def generic_body(plan: AppealPlan, external_id: str) -> dict[str, Any]:
    """The same appeal as a body of the generic POST /v1/appeals (any channel)."""
    lat, lon = plan.point
    body: dict[str, Any] = {"channel": plan.channel, "external_id": external_id,
                            "content": plan.text}
    if plan.use_point:
        body.update(latitude=lat, longitude=lon)
    else:
        body["grid_code"] = plan.grid.code
    if plan.title:
        body["title"] = plan.title
    if plan.phone:
        body["contact_phone"] = plan.phone
    if plan.send_code:
        body["matter_code"] = plan.matter.code
    if plan.on_the_spot:
        body.update(resolved_on_spot=True, resolution_note=plan.resolution_note,
                    grid_worker_id=plan.grid.worker_id)
    return body


# -- the citizens' call-back answers ----------------------------------------------------------


@dataclass(frozen=True)
class CallbackAnswer:
    solved: bool
    satisfaction: Satisfaction


#: (share, answer); None is a citizen who never picks up (the case closes unanswered).
ANSWER_MIX: tuple[tuple[float, CallbackAnswer | None], ...] = (
    (0.07, None),
    (0.76, CallbackAnswer(True, Satisfaction.SATISFIED)),
    (0.08, CallbackAnswer(True, Satisfaction.BASICALLY_SATISFIED)),
    (0.03, CallbackAnswer(True, Satisfaction.NOT_SATISFIED)),
    (0.05, CallbackAnswer(False, Satisfaction.NOT_SATISFIED)),
    (0.01, CallbackAnswer(False, Satisfaction.BASICALLY_SATISFIED)),
)


def callback_answer(rng: random.Random, reopen_count: int = 0) -> CallbackAnswer | None:
    """A citizen's answer; after a reopen, handled again, most are content."""
    if reopen_count > 0 and rng.random() < 0.8:
        return CallbackAnswer(True, Satisfaction.SATISFIED)
    shares = [s for s, _ in ANSWER_MIX]
    return rng.choices([a for _, a in ANSWER_MIX], weights=shares)[0]


def _cumulative(weights: Sequence[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out
