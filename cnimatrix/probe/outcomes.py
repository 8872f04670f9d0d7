"""What a probe observed and how a program's output is read into it: success, refused, timed out,
DNS error and other errors told apart, so a check can tell a policy drop from a broken service."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable


class Outcome(str, Enum):
    OK = "ok"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    DNS = "dns-error"        # the name did not resolve
    ERROR = "error"          # anything else (reset, HTTP error, bad reply)


@dataclass(frozen=True)
class ProbeResult:
    target: str
    outcome: Outcome
    ms: float
    reply: str            # response body (trimmed), or the client's error text

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


def classify_http(rc: int, text: str) -> Outcome:
    lowered = text.lower()
    if rc == 0:
        return Outcome.OK
    if rc == 6 or "could not resolve" in lowered:
        return Outcome.DNS
    if rc == 28 or "timed out" in lowered:
        return Outcome.TIMEOUT
    if rc == 7 and "refused" in lowered:
        return Outcome.REFUSED
    return Outcome.ERROR


def classify_udp(rc: int, text: str) -> Outcome:
    lowered = text.lower()
    if rc == 0 and text.strip():
        return Outcome.OK
    if rc == 124:
        return Outcome.TIMEOUT
    if "connection refused" in lowered:
        return Outcome.REFUSED
    if "name resolution" in lowered or "not known" in lowered:
        return Outcome.DNS
    return Outcome.ERROR


def parse_lines(output: str, targets: list[str], classify: Callable[[int, str], Outcome]) -> list[ProbeResult]:
    """Parse the loop's '@@index rc micros reply' lines; a probe with no line counts as an error."""
    seen: dict[int, ProbeResult] = {}
    missing = "no result line (exec cut short)"
    for line in output.splitlines():
        if line.startswith("@@ERR "):   # the MUX server's batch died (programs.MUX_SERVER)
            missing = f"no result line: the prober died: {line[6:].strip()}"
        if not line.startswith("@@"):
            continue
        parts = line[2:].split("\t", 3)
        if len(parts) < 3 or not parts[0].isdigit() or not parts[1].lstrip("-").isdigit():
            continue
        index, rc, micros = int(parts[0]), int(parts[1]), parts[2]
        reply = parts[3].strip() if len(parts) > 3 else ""
        if 1 <= index <= len(targets):
            ms = int(micros) / 1000 if micros.isdigit() else 0.0
            seen[index] = ProbeResult(targets[index - 1], classify(rc, reply), round(ms, 3), reply)
    return [seen.get(i + 1, ProbeResult(t, Outcome.ERROR, 0.0, missing)) for i, t in enumerate(targets)]


@dataclass(frozen=True)
class DnsResult:
    """One DNS question and what came back. `outcome` is about transport (OK = a response came);
    `status` is the DNS rcode of that response (NOERROR, NXDOMAIN, SERVFAIL, ...)."""

    name: str
    qtype: str
    outcome: Outcome
    status: str
    records: tuple[tuple[str, str, str], ...]   # (owner, type, data) from the answer section
    error: str = ""

    def values(self, rtype: str | None = None) -> set[str]:
        rtype = rtype or self.qtype
        return {data for _, t, data in self.records if t == rtype}

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


def parse_dig(output: str, queries: list[tuple[str, str]]) -> list[DnsResult]:
    """Split the '@@i' sections and read dig's YAML for each query."""
    import yaml  # the only probe part that needs it

    chunks: dict[int, str] = {}
    current = None
    for line in output.splitlines():
        if line.startswith("@@") and line[2:].isdigit():
            current = int(line[2:])
            chunks[current] = ""
        elif current is not None:
            chunks[current] += line + "\n"
    results = []
    for index, (name, qtype) in enumerate(queries, 1):
        text = chunks.get(index)
        if text is None:
            results.append(DnsResult(name, qtype, Outcome.ERROR, "", (), "no output (exec cut short)"))
            continue
        try:
            docs = yaml.safe_load(text) or []
        except yaml.YAMLError:
            docs = []
        message = next((d.get("message") for d in docs if isinstance(d, dict) and d.get("type") == "MESSAGE"), None)
        if not isinstance(message, dict):
            error = " ".join(text.split())[:200]
            outcome = Outcome.TIMEOUT if "timed out" in error or "no servers could be reached" in error else Outcome.ERROR
            results.append(DnsResult(name, qtype, outcome, "", (), error))
            continue
        data = message.get("response_message_data") or {}
        records = []
        for rr in data.get("ANSWER_SECTION") or []:
            parts = str(rr).split(None, 4)
            if len(parts) == 5:
                records.append((parts[0].lower(), parts[3], parts[4]))
        results.append(DnsResult(name, qtype, Outcome.OK, str(data.get("status", "")), tuple(records)))
    return results


def classify_ping(rc: int, text: str) -> Outcome:
    lowered = text.lower()
    if rc == 0:
        return Outcome.OK
    if "unknown host" in lowered or "name or service not known" in lowered:
        return Outcome.DNS
    if any(word in lowered for word in ("too long", "frag needed", "unreachable", "invalid")):
        return Outcome.ERROR   # refused to send, or told why it could not arrive
    return Outcome.TIMEOUT if rc == 1 else Outcome.ERROR


def fields(reply: str) -> dict[str, str]:
    """The key=value words of a reply ('bytes=4194304 sha256=ab..' -> {'bytes': ..., 'sha256': ...})."""
    return dict(word.split("=", 1) for word in reply.split() if "=" in word)


@dataclass(frozen=True)
class FirstAnswer:
    start_ns: int       # the pod's first command ran (sandbox and network set up, container started)
    answered_ns: int    # its first packet to the peer was answered
    tries: int          # pings that went unanswered before that


def parse_first_answer(log: str) -> FirstAnswer | None:
    for line in log.splitlines():
        if line.startswith("@@first-answer "):
            words = fields(line)
            try:
                return FirstAnswer(int(words["start"]), int(words["answered"]), int(words["tries"]))
            except (KeyError, ValueError):
                return None
    return None
