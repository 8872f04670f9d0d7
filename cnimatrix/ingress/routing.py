"""Routing checks as data: what a client asks the front door, and what must come back.

A Check is one request (path, host, scheme, headers) and a Want (which backend Service answers,
with what status; a redirect target; the certificate presented; headers the backend must or must
not have received). The suites send each check through the probes and judge the response
here; these functions are pure so that unit tests pin down every verdict.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from cnimatrix.probe.outcomes import Outcome
from cnimatrix.probe.web import Request, Response

CLIENT_IP = "$client_ip"  # in a wanted header value: the outside client's own address


@dataclass(frozen=True)
class Want:
    service: str | None = None                      # echo-basic SERVICE_NAME of the backend that must answer
    status: int = 200
    location: str | None = None                     # a redirect's target
    cert: str | None = None                         # host name the presented certificate must be for
    seen_headers: tuple[tuple[str, str | None], ...] = ()   # header -> value the backend got (None: must be absent)
    path: str | None = None                         # the path as the backend received it


@dataclass(frozen=True)
class Check:
    want: Want
    path: str = "/"
    host: str | None = None
    scheme: str = "http"
    headers: tuple[tuple[str, str], ...] = ()

    def request(self, address: str, ports: dict[str, int]) -> Request:
        return Request(address, ports[self.scheme], self.path, self.host, self.scheme, self.headers)


def ok(service: str, path: str = "/", host: str | None = None, **extra) -> Check:
    """Shorthand: `path` on `host` is answered (200) by `service`."""
    return Check(Want(service=service), path=path, host=host, **extra)


def status(code: int, path: str = "/", host: str | None = None, **extra) -> Check:
    """Shorthand: `path` on `host` gets `code` from the controller itself (no backend answers)."""
    return Check(Want(status=code), path=path, host=host, **extra)


def _header(headers: dict, name: str) -> list[str] | None:
    for key, values in headers.items():
        if key.lower() == name.lower():
            return values if isinstance(values, list) else [values]
    return None


def judge(want: Want, response: Response, client_ip: str = "") -> str | None:
    """None when the response is what `want` says, else why not (one line)."""
    where = str(response.request)
    if response.outcome is not Outcome.OK:
        return f"{where}: {response.outcome.value} {response.error[:150]}"
    if want.cert is not None and f"CN={want.cert}" not in response.cert.replace(" = ", "="):
        return f"{where}: certificate {response.cert or '(none)'!r}, want CN={want.cert}"
    if response.status != want.status:
        return f"{where}: HTTP {response.status}, want {want.status} ({response.summary()})"
    if want.location is not None and response.location != want.location:
        return f"{where}: redirected to {response.location or '(nowhere)'!r}, want {want.location!r}"
    echo = response.echo
    if want.service is not None:
        if not echo:
            return f"{where}: HTTP {response.status} but not from an echo backend: {response.body[:100]!r}"
        if echo.get("service") != want.service:
            return f"{where}: answered by {echo.get('service')!r} ({echo.get('pod')}), want {want.service!r}"
    if want.path is not None and echo.get("path") != want.path:
        return f"{where}: backend saw path {echo.get('path')!r}, want {want.path!r}"
    for name, value in want.seen_headers:
        got = _header(echo.get("headers") or {}, name)
        expected = client_ip if value == CLIENT_IP else value
        if value is None and got is not None:
            return f"{where}: backend got header {name}: {got}, want it absent"
        if value is not None and (got is None or expected not in ", ".join(got).split(", ")):
            return f"{where}: backend got {name}: {got}, want {expected!r}"
    return None


@dataclass
class RoundVerdict:
    ok: bool
    reason: str
    wrong: list[str] = field(default_factory=list)


def judge_round(checks: list[Check], responses: list[Response], client_ip: str = "",
                entry_of: Callable[[Response], str] | None = None) -> RoundVerdict:
    """Every response of a round against its check (responses[i] answers checks[i]). With
    `entry_of` (response -> the way in it took), a wrong round says which ways in went wrong, how
    often, and which were fine: one controller replica's fault reads as one entry's."""
    verdicts = [(response, judge(check.want, response, client_ip)) for check, response in zip(checks, responses, strict=True)]
    wrong = [reason for _, reason in verdicts if reason is not None]
    if not wrong:
        return RoundVerdict(True, f"{len(checks)} requests answered as expected")
    if entry_of is None:
        return RoundVerdict(False, f"{len(wrong)}/{len(checks)} wrong, e.g. {wrong[0]}", wrong)
    by_entry: dict[str, list] = {}
    for response, reason in verdicts:
        by_entry.setdefault(entry_of(response), []).append(reason)
    bad = [f"via {entry}: {sum(r is not None for r in reasons)}/{len(reasons)} wrong, e.g. {next(r for r in reasons if r)}"
           for entry, reasons in by_entry.items() if any(reasons)]
    fine = [entry for entry, reasons in by_entry.items() if not any(reasons)]
    return RoundVerdict(False, f"{len(wrong)}/{len(checks)} wrong: " + "; ".join(bad) + f"; fine: {', '.join(fine) or 'none'}", wrong)
