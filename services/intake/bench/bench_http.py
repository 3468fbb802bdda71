"""Sustained accepted appeals per second over HTTP, against a running intake.

    uv run python services/intake/bench/bench_http.py --url http://127.0.0.1:8001 \
        --seconds 20 --connections 64 [--classify] [--key dev-hotline]

Loopback only, bounded in time and count. Each request is a new appeal (unique
external id) to POST /v1/appeals; by default with an explicit matter code (no
classification), --classify leaves the matter to the classifier. The client is a
minimal keep-alive HTTP/1.1 writer on asyncio streams (pre-encoded requests) so that
the load generator costs as little CPU as possible on a small machine. Counts only
201 answers as accepted; reports the rate, other statuses and latency percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from collections import Counter
from urllib.parse import urlsplit

TEXTS = ["小区门口的路灯坏了一个星期了，晚上很黑，请尽快修理。",
         "楼下饭店的油烟直接排到我家窗户，家里全是油烟味。",
         "路口的井盖丢了，只剩一个黑洞，很危险。",
         "旁边工地每天晚上十一点以后还在施工，噪音很大。"]
MATTERS = ["RD-003", "EV-004", "RD-002", "EV-001"]


def _body(classify: bool, grids: list[str]) -> bytes:
    i = random.randrange(len(TEXTS))
    body = {"channel": "hotline", "external_id": f"bench-{uuid.uuid4().hex}",
            "content": TEXTS[i], "grid_code": random.choice(grids),
            "contact_phone": f"138{random.randrange(10**8):08d}"}
    if not classify:
        body["matter_code"] = MATTERS[i]
    return json.dumps(body, ensure_ascii=False).encode()


async def _worker(host: str, port: int, key: str | None, classify: bool, grids: list[str],
                  deadline: float, limit: int, stats: Counter[str],
                  latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    extra = f"X-Api-Key: {key}\r\n" if key else ""
    try:
        while time.monotonic() < deadline and stats["sent"] < limit:
            body = _body(classify, grids)
            head = (f"POST /v1/appeals HTTP/1.1\r\nHost: {host}\r\n"
                    f"Content-Type: application/json\r\n{extra}"
                    f"Content-Length: {len(body)}\r\n\r\n").encode()
            stats["sent"] += 1
            started = time.perf_counter()
            writer.write(head + body)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value.strip())
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            status = status_line.split(b" ")[1].decode() if status_line else "closed"
            stats[status] += 1
    finally:
        writer.close()


async def run(url: str, seconds: float, connections: int, limit: int, classify: bool,
              key: str | None) -> None:
    from civicgrid_shared.reference.loader import load_territory

    grids = [g.code for g in load_territory().grids]
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("this benchmark only targets the loopback interface")
    stats: Counter[str] = Counter()
    latencies: list[float] = []
    warm_deadline = time.monotonic() + 2.0  # warm-up, not counted
    await asyncio.gather(*(_worker(host, port, key, classify, grids, warm_deadline, limit,
                                   Counter(), []) for _ in range(connections)))
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(*(_worker(host, port, key, classify, grids, deadline, limit, stats,
                                   latencies) for _ in range(connections)))
    elapsed = time.monotonic() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    accepted = stats["201"]
    print(json.dumps({
        "seconds": round(elapsed, 1), "connections": connections, "classify": classify,
        "accepted": accepted, "accepted_per_s": round(accepted / elapsed, 1),
        "statuses": {k: v for k, v in stats.items() if k != "sent"},
        "latency_ms": {"p50": round(pct(0.5), 1), "p99": round(pct(0.99), 1)} if latencies
        else None,
    }))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8001")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--classify", action="store_true")
    parser.add_argument("--key", default=None)
    args = parser.parse_args()
    asyncio.run(run(args.url, args.seconds, args.connections, args.max_requests,
                    args.classify, args.key))


if __name__ == "__main__":
    main()
