"""A stand-in service for the stack tests: serves /ready, /health, /metrics, /env.

Reads the service contract (CIVICGRID_HTTP_HOST/PORT ...). With
CIVICGRID_FAKE_FAIL=<port> the instance on that port exits at once with code 3.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path in ("/ready", "/health", "/metrics"):
            body = b"ok\n"
        elif self.path == "/env":
            env = {k: v for k, v in os.environ.items() if k.startswith("CIVICGRID_")}
            body = json.dumps(env).encode()
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    host = os.environ["CIVICGRID_HTTP_HOST"]
    port = int(os.environ["CIVICGRID_HTTP_PORT"])
    if os.environ.get("CIVICGRID_FAKE_FAIL") == str(port):
        print("fake service: failing on purpose (CIVICGRID_FAKE_FAIL)", flush=True)
        sys.exit(3)
    delay = float(os.environ.get("CIVICGRID_FAKE_DELAY", "0"))
    time.sleep(delay)
    server = ThreadingHTTPServer((host, port), Handler)

    def stop(signum: int, frame: FrameType | None) -> None:
        print("fake service: stopping", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    print(f"fake service ready on {host}:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
