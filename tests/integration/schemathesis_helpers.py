"""Helpers for tests/integration/test_schemathesis.py: load a live OpenAPI document, run
schemathesis' cases of every operation against the service, collect what fails.

Schemathesis' own pytest plugin (``schemathesis.pytest``) fails with the pytest of this
workspace (it sets ``Function._nodeid``, gone in pytest 9: AttributeError), so each
operation's hypothesis test is built here with the function that plugin builds it with
(``schemathesis.generation.hypothesis.builder.create_test``: the document's examples,
the coverage phase, then positive and negative fuzzing), its cases sent with
``Case.call`` and checked with ``Case.validate_response``. A failing case is recorded and
the run goes on, so one run lists every distinct failure of every operation.

A ``Target`` says where a service answers, which key each operation needs (``key_for``)
and, optionally, ids of real resources: every other case gets them in its path, so the
fuzzed bodies reach the handlers' state checks and not only "no such case".
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig
from schemathesis.core.result import Ok
from schemathesis.errors import FailureGroup
from schemathesis.generation.hypothesis.builder import (
    HypothesisTestConfig,
    HypothesisTestMode,
    create_test,
)
from schemathesis.schemas import APIOperation, BaseSchema

#: Any operation of a document and any case of one (the generic parameters do not matter
#: here).
Operation = APIOperation[Any, Any, Any, Any]
AnyCase = Case[Any]

API_KEY = "X-Api-Key"
#: Fuzzing examples per operation (the examples and coverage phases add their own, a
#: few dozen per operation). Raise it for a longer hunt: CIVICGRID_SCHEMATHESIS_EXAMPLES=200.
EXAMPLES = int(os.environ.get("CIVICGRID_SCHEMATHESIS_EXAMPLES", "15"))
REQUEST_TIMEOUT = 20.0
FULL = os.environ.get("CIVICGRID_SCHEMATHESIS_FULL", "") == "1"


def fuzz_settings(max_examples: int = EXAMPLES) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        # Failures are recorded, not raised: nothing to shrink.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=hypothesis.Verbosity.quiet,
    )


#: Schemathesis' phases: the document's examples, its coverage phase (deterministic
#: boundary values of every parameter and body field: shortest, longest, each enum value,
#: each optional field alone, ...), then fuzzing in positive and negative mode (invalid
#: types, missing fields, malformed bodies). The coverage phase's own negative cases (a
#: few hundred per service, nearly all answered by the request validation with 422) and
#: its probes of every undocumented method are left out, to keep the run within minutes
#: on a small machine; CIVICGRID_SCHEMATHESIS_FULL=1 puts them back.
ALL_PHASES = [HypothesisTestMode.EXAMPLES, HypothesisTestMode.COVERAGE,
              HypothesisTestMode.FUZZING]
FUZZING_ONLY = [HypothesisTestMode.FUZZING]

#: Checks on every answer: never a 5xx, the status is one the document lists for the
#: operation, and the body matches the documented response.
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]

#: Keys that must be refused: none, empty, unknown, and a development-looking one for a
#: unit that does not exist.
BAD_KEYS: tuple[str | None, ...] = (None, "", "not-a-valid-key", "dev-no-such-unit-0000")


#: Values that break code more often than random ones, mixed into the generated strings,
#: integers and numbers (each value only where it fits the document in positive cases,
#: only where it does not in negative ones): NUL characters (PostgreSQL text cannot hold
#: them), the first and last dates and times (+14:00 / -14:00 push them out of range in
#: UTC), integers past 64 bits, huge and tiny floats.
HOSTILE = {
    "hostile-strings": {"values": [
        "\x00", "a\x00b", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01", "9999-12-31",
        "00000000-0000-0000-0000-000000000000", "NaN", "-Infinity", "1e999", " ", "\t\n",
        "%00", "../../etc/passwd", "' OR 1=1 --", "\u202e\ufeff", "𠜎" * 300]},
    "hostile-integers": {"values": [2**63, -(2**63) - 1, 2**31, 10**30, -1, 0]},
    "hostile-numbers": {"values": [1e308, -1e308, 5e-324, -0.0, 1e-300]},
}


def load_schema(base_url: str) -> BaseSchema:
    """The service's live /openapi.json."""
    config = SchemathesisConfig.from_dict({
        "base-url": base_url,
        "dictionaries": HOSTILE,
        "phases": {} if FULL else {"coverage": {
            "generation": {"mode": "positive"}, "unexpected-methods": ["DELETE"]}},
        "generation": {"mode": "all", "dictionaries": {
            "string": {"dictionary": "hostile-strings", "probability": 0.2},
            "integer": {"dictionary": "hostile-integers", "probability": 0.2},
            "number": {"dictionary": "hostile-numbers", "probability": 0.2},
        }},
    })
    return schemathesis.openapi.from_url(f"{base_url}/openapi.json", config=config,
                                         timeout=REQUEST_TIMEOUT)


@dataclass(frozen=True)
class Target:
    base_url: str
    #: The valid key for an operation (None: the operation takes no key).
    key_for: Callable[[Operation], str | None] = lambda _op: None
    #: Real ids by path parameter name, put into every other case.
    ids: Mapping[str, str] = field(default_factory=dict)
    #: A last touch on an authenticated case (e.g. an Open311 api_key in the body);
    #: the flag says whether this case is one that gets the real ids.
    patch: Callable[[AnyCase, bool], None] | None = None


def needs_key(operation: Operation) -> bool:
    return any(p.name.lower() == API_KEY.lower() for p in operation.headers)


def _drop_key(case: AnyCase) -> None:
    if case.headers:
        for name in [n for n in case.headers if n.lower() == API_KEY.lower()]:
            del case.headers[name]


_turn = itertools.count()
_statuses: Counter[int] = Counter()


def send_with_key(case: AnyCase, target: Target) -> int:
    """Send the case as the operation's rightful caller; check the answer."""
    real = next(_turn) % 2 == 0
    if real and case.path_parameters:
        for name in list(case.path_parameters):
            if name in target.ids:
                case.path_parameters[name] = target.ids[name]
    if target.patch is not None:
        target.patch(case, real)
    key = target.key_for(case.operation)
    headers = None
    if key is not None:
        _drop_key(case)
        headers = {API_KEY: key}
    response = case.call(base_url=target.base_url, headers=headers, timeout=REQUEST_TIMEOUT)
    _statuses[response.status_code] += 1
    case.validate_response(response, checks=CHECKS, headers=headers)
    return response.status_code


#: What a refused caller may get: 401/403, or 429 when throttled.
DENIED = {401, 403, 429}
_bad_keys = itertools.cycle(BAD_KEYS)


def send_without_key(case: AnyCase, target: Target,
                     must_refuse: Callable[[Operation, str | None], bool] =
                     lambda op, _key: needs_key(op),
                     also_refused: Callable[[schemathesis.Response], bool] = lambda _r: False,
                     ) -> int:
    """Send the case with a missing or wrong key (in turn, each of BAD_KEYS): never a 5xx,
    and an operation that ``must_refuse`` the key refuses it before it looks at the input
    (a routing 404/405 aside, when a generated path parameter does not fit the route)."""
    bad_key = next(_bad_keys)
    _drop_key(case)
    headers = {API_KEY: bad_key} if bad_key is not None else None
    response = case.call(base_url=target.base_url, headers=headers, timeout=REQUEST_TIMEOUT)
    _statuses[response.status_code] += 1
    case.validate_response(response, checks=[not_a_server_error], headers=headers)
    if not must_refuse(case.operation, bad_key):
        return response.status_code
    if response.status_code in DENIED or _routing_miss(response) or also_refused(response):
        return response.status_code
    raise AssertionError(
        f"with key {bad_key!r} it answered {response.status_code}, not 401/403: "
        f"{response.text[:300]}\n    {case.as_curl_command(headers=headers)}")


def _routing_miss(response: schemathesis.Response) -> bool:
    """A 404/405 from routing (no handler ran): 'Not Found' / 'Method Not Allowed'."""
    if response.status_code not in (404, 405):
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("error") in ("Not Found", "Method Not Allowed")


def fuzz(schema: BaseSchema, send: Callable[[AnyCase], object],
         include: Callable[[Operation], bool] = lambda _op: True,
         modes: list[HypothesisTestMode] = ALL_PHASES, max_examples: int = EXAMPLES,
         ) -> tuple[Counter[int], list[str]]:
    """Run every included operation's cases through ``send``: (the statuses answered,
    the failures). Each distinct failure (operation, kind) is reported once, with its
    curl command."""
    _statuses.clear()
    fixed = fuzz_settings(max_examples)
    failures: dict[tuple[str, str], str] = {}
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            raise result.err()  # an operation the document does not describe well enough
        operation = result.ok()
        if not include(operation):
            continue
        test = create_test(
            operation=operation,
            test_func=_recorder(operation, send, failures),
            config=HypothesisTestConfig(project=schema.config, modes=modes,
                                        settings=fixed, explicit_settings=fixed),
        )
        with contextlib.suppress(Unsatisfiable):  # e.g. no negative case without input
            test()
    report = [f"{op} — {kind}:\n{detail}" for (op, kind), detail in failures.items()]
    return Counter(_statuses), report


def _recorder(op: Operation, send: Callable[[AnyCase], object],
              failures: dict[tuple[str, str], str]) -> Callable[[AnyCase], None]:
    """The body of one operation's hypothesis test: send, and record what fails."""

    def record(case: AnyCase) -> None:
        try:
            send(case)
        except FailureGroup as group:
            for failure in group.exceptions:
                failures.setdefault((op.label, failure.title), str(group)[:2500])
        except AssertionError as exc:
            failures.setdefault((op.label, "refusal"), str(exc)[:2500])
        except requests.RequestException as exc:
            failures.setdefault((op.label, type(exc).__name__),
                                f"{exc}\n    {case.as_curl_command()}"[:2500])

    return record
