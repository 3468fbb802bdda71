"""``python -m civicgrid_intake.keys KEY_ID CHANNEL [CHANNEL...] [--scope S] [--rate R]``

Makes a new random channel key. Prints the key once (give it to the channel's
operator) on stderr and the entry to add to the keys file on stdout: only the
SHA-256 digest is stored.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys

from civicgrid_shared.contracts.events import Channel

from civicgrid_intake.domain.access import Scope, hash_key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m civicgrid_intake.keys")
    parser.add_argument("key_id")
    parser.add_argument("channels", nargs="*", choices=[c.value for c in Channel])
    parser.add_argument("--scope", action="append", choices=[s.value for s in Scope])
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second")
    parser.add_argument("--burst", type=int, default=40)
    args = parser.parse_args(argv)
    key = f"cg_{secrets.token_urlsafe(32)}"
    entry = {"key_id": args.key_id, "sha256": hash_key(key), "channels": args.channels,
             "scopes": args.scope or ["submit"], "rate_per_s": args.rate, "burst": args.burst}
    print(f"key (shown once): {key}", file=sys.stderr)
    print(json.dumps(entry, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
