"""HTTP and HTTPS requests as a client sends them to an ingress, through the probe executors.

A request names the address to connect to and, separately, the host name it asks for: curl's
--resolve puts that name in the URL, so it is both the Host header and the TLS SNI. Each response
keeps what a routing check needs: status, redirect target, the subject of the certificate the
server presented (verified against the suite's CA), the body (echo-basic's JSON) and the
transport outcome (ok / refused / timeout / error), classified as the probes classify curl.
"""
from __future__ import annotations

import base64
import json
import shlex
from dataclasses import dataclass

from cnimatrix.probe.executors import Executor
from cnimatrix.probe.outcomes import Outcome, classify_http
from cnimatrix.probe.programs import PARALLEL

CA_PATH = "/tmp/cnimatrix-ca.pem"
BODY_LIMIT = 8000

# One curl per request, PARALLEL at a time; each prints one '@@' line: index, curl exit code,
# microseconds, status, redirect target, then base64 of certificate subject, body and error text.
_SCRIPT_HEAD = r"""
dir=$(mktemp -d)
b64() { [ -n "$1" ] && printf '%s' "$1" | base64 -w0; }
probe() {
  i=$1; shift
  start=$(date +%s%N)
  meta=$(curl -sS -v --max-time TIMEOUT --connect-timeout TIMEOUT -o "$dir/$i.body" -w '%{http_code} %{redirect_url}' "$@" 2>"$dir/$i.err"); rc=$?
  end=$(date +%s%N)
  subject= error=
  case "$1" in https:*) subject=$(sed -n 's/^\*  *subject: //p' "$dir/$i.err" | head -n 1);; esac
  [ "$rc" = 0 ] || error=$(grep -E '^curl: |connect to .* failed|SSL certificate problem|no alternative certificate' "$dir/$i.err" | head -n 3 | tr '\n' ' ')
  printf '@@%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$i" "$rc" "$(( (end-start)/1000 ))" "$meta" "$(b64 "$subject")" \
    "$(head -c BODY_LIMIT "$dir/$i.body" 2>/dev/null | base64 -w0)" "$(b64 "$error")"
}
"""


@dataclass(frozen=True)
class Request:
    address: str                     # where the connection goes (LoadBalancer IP, node IP)
    port: int
    path: str = "/"
    host: str | None = None          # the name asked for (Host header and SNI); None: the address
    scheme: str = "http"
    headers: tuple[tuple[str, str], ...] = ()

    def curl_args(self) -> list[str]:
        name = self.host or self.address
        args = [f"{self.scheme}://{name}:{self.port}{self.path}"]
        if self.host:
            args += ["--resolve", f"{self.host}:{self.port}:{self.address}"]
        for key, value in self.headers:
            args += ["-H", f"{key}: {value}"]
        if self.scheme == "https":
            args += ["--cacert", CA_PATH]
        return args

    def __str__(self) -> str:
        extra = "".join(f" [{k}: {v}]" for k, v in self.headers)
        via = f" via {self.address}" if self.host else ""
        return f"{self.scheme}://{self.host or self.address}:{self.port}{self.path}{via}{extra}"


@dataclass(frozen=True)
class Response:
    request: Request
    outcome: Outcome
    ms: float
    status: int = 0                  # 0: no HTTP response
    location: str = ""
    cert: str = ""                   # subject of the presented certificate, e.g. "CN=a.example.com"
    body: str = ""
    error: str = ""

    @property
    def echo(self) -> dict:
        """echo-basic's description of the request it got, or {} when the body is something else."""
        try:
            data = json.loads(self.body)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def summary(self) -> str:
        if self.outcome is not Outcome.OK:
            return f"{self.outcome.value}: {self.error[:160]}"
        who = self.echo.get("service") or self.echo.get("pod") or self.body[:60].replace("\n", " ")
        return f"HTTP {self.status} {who}" + (f" -> {self.location}" if self.location else "")


def _decode(text: str) -> str:
    try:
        return base64.b64decode(text).decode(errors="replace")
    except ValueError:
        return ""


def parse(output: str, requests: list[Request]) -> list[Response]:
    seen: dict[int, Response] = {}
    for line in output.splitlines():
        if not line.startswith("@@"):
            continue
        parts = line[2:].split("\t")
        if len(parts) != 7 or not parts[0].isdigit() or not parts[1].lstrip("-").isdigit():
            continue
        index, rc = int(parts[0]), int(parts[1])
        if not 1 <= index <= len(requests):
            continue
        code, _, location = parts[3].partition(" ")
        error = _decode(parts[6]).strip()
        outcome = classify_http(rc, error)
        seen[index] = Response(requests[index - 1], outcome, round(int(parts[2]) / 1000, 3) if parts[2].isdigit() else 0.0,
                               int(code) if code.isdigit() and outcome is Outcome.OK else 0, location.strip(),
                               _decode(parts[4]).strip(), _decode(parts[5]), error)
    return [seen.get(i + 1, Response(r, Outcome.ERROR, 0.0, error="no result line (exec cut short)")) for i, r in enumerate(requests)]


def script(requests: list[Request], timeout_s: float, parallel: int = PARALLEL, ca_pem: str | None = None) -> str:
    head = _SCRIPT_HEAD.replace("TIMEOUT", f"{timeout_s:g}").replace("BODY_LIMIT", str(BODY_LIMIT))
    lines = [head]
    if ca_pem:
        lines.append(f"cat > {CA_PATH} <<'CNIMATRIX_CA'\n{ca_pem.strip()}\nCNIMATRIX_CA")
    for i, request in enumerate(requests, 1):
        lines.append(f"probe {i} {' '.join(shlex.quote(a) for a in request.curl_args())} &")
        if i % parallel == 0:
            lines.append("wait")
    lines.append('wait\nrm -rf "$dir"')
    return "\n".join(lines) + "\n"


def send(executor: Executor, requests: list[Request], timeout_s: float = 5.0, parallel: int = PARALLEL,
         ca_pem: str | None = None) -> list[Response]:
    """Send every request from `executor`'s client, `parallel` at a time; responses in order.
    `ca_pem` is written to the client first, for HTTPS requests to verify against."""
    if not requests:
        return []
    output = executor.sh(script(requests, timeout_s, parallel, ca_pem), timeout_s=len(requests) * (timeout_s + 1) / parallel + 60)
    return parse(output, requests)
