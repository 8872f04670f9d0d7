"""Judging front-door responses: the verdicts the Ingress and Gateway suites rest on."""
import base64
import json

import pytest

from cnimatrix.ingress.routing import CLIENT_IP, Check, Want, judge, judge_round, ok, status
from cnimatrix.probe.outcomes import Outcome
from cnimatrix.probe.web import Request, Response, parse, script

REQ = Request("172.18.255.239", 80, "/api", "example.com")


def echo(service="api", path="/api", headers=None, code=200, **extra):
    body = json.dumps({"service": service, "pod": f"{service}-abc", "path": path, "host": "example.com",
                       "headers": headers or {}})
    return Response(REQ, Outcome.OK, 1.0, code, body=body, **extra)


def test_the_right_service_passes_and_a_wrong_one_is_named():
    assert judge(Want(service="api"), echo()) is None
    assert "answered by 'webapp'" in judge(Want(service="api"), echo("webapp"))


def test_status_of_the_controller_itself():
    not_found = Response(REQ, Outcome.OK, 1.0, 404, body="404 page not found")
    assert judge(Want(status=404), not_found) is None
    assert "HTTP 404, want 200" in judge(Want(service="api"), not_found)
    assert "HTTP 200, want 404" in judge(Want(status=404), echo())


def test_a_200_that_is_not_from_an_echo_backend_fails():
    assert "not from an echo backend" in judge(Want(service="api"), Response(REQ, Outcome.OK, 1.0, 200, body="hello"))


def test_transport_failures_are_reported_as_such():
    refused = Response(REQ, Outcome.REFUSED, 1.0, error="connect to 172.18.255.239 port 80 failed: Connection refused")
    assert judge(Want(service="api"), refused).startswith("http://example.com:80/api via 172.18.255.239: refused")


def test_redirect_target_and_certificate():
    moved = Response(REQ, Outcome.OK, 1.0, 301, location="https://example.com/api")
    assert judge(Want(status=301, location="https://example.com/api"), moved) is None
    assert "redirected to" in judge(Want(status=301, location="https://other/"), moved)
    tls = echo(cert="CN = a.tls.example.com")
    assert judge(Want(service="api", cert="a.tls.example.com"), tls) is None
    assert "want CN=b.tls.example.com" in judge(Want(service="api", cert="b.tls.example.com"), tls)


def test_headers_the_backend_saw():
    seen = echo(headers={"X-Set": ["one"], "X-Forwarded-For": ["172.18.0.9"], "X-Remove": ["gone"]})
    assert judge(Want(seen_headers=(("x-set", "one"),)), seen) is None
    assert "want it absent" in judge(Want(seen_headers=(("X-Remove", None),)), seen)
    assert judge(Want(seen_headers=(("X-Forwarded-For", CLIENT_IP),)), seen, client_ip="172.18.0.9") is None
    assert "want '172.18.0.7'" in judge(Want(seen_headers=(("X-Forwarded-For", CLIENT_IP),)), seen, client_ip="172.18.0.7")
    assert "want 'two'" in judge(Want(seen_headers=(("X-Added", "two"),)), seen)


def test_a_round_fails_on_any_wrong_answer():
    checks = [ok("api", "/api", "example.com"), status(404, "/nope", "example.com")]
    good = judge_round(checks, [echo(), Response(REQ, Outcome.OK, 1.0, 404)])
    assert good.ok and "2 requests" in good.reason
    bad = judge_round(checks, [echo(), echo()])
    assert not bad.ok and bad.reason.startswith("1/2 wrong")
    with pytest.raises(ValueError):
        judge_round(checks, [echo()])


def test_a_check_becomes_a_request_through_an_entry():
    check = Check(Want(), "/x", "a.example.com", "https", (("X-Variant", "b"),))
    request = check.request("10.0.0.9", {"http": 30080, "https": 30443})
    assert request.curl_args() == ["https://a.example.com:30443/x", "--resolve", "a.example.com:30443:10.0.0.9",
                                   "-H", "X-Variant: b", "--cacert", "/tmp/cnimatrix-ca.pem"]
    assert Request("10.0.0.9", 80).curl_args() == ["http://10.0.0.9:80/"]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_parse_reads_every_field_and_marks_missing_lines():
    requests = [REQ, Request("10.0.0.1", 80), Request("10.0.0.2", 80)]
    output = "\n".join([
        "noise",
        f"@@1\t0\t2500\t301 https://example.com/api\t{b64('CN = example.com')}\t{b64('moved')}\t{b64('')}",
        f"@@2\t7\t900\t000 \t{b64('')}\t{b64('')}\t{b64('* connect to 10.0.0.1 port 80 failed: Connection refused')}",
    ])
    first, second, third = parse(output, requests)
    assert (first.outcome, first.status, first.location, first.cert, first.body, first.ms) == \
        (Outcome.OK, 301, "https://example.com/api", "CN = example.com", "moved", 2.5)
    assert second.outcome is Outcome.REFUSED and second.status == 0
    assert third.outcome is Outcome.ERROR and "no result line" in third.error


def test_script_writes_the_ca_and_batches_requests():
    text = script([REQ] * 3, 2.0, parallel=2, ca_pem="-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----")
    assert "cat > /tmp/cnimatrix-ca.pem <<'CNIMATRIX_CA'" in text
    assert text.count("\nprobe ") == 3 and text.count("\nwait") == 2
    assert "--max-time 2 " in text


def test_a_wrong_round_says_which_entries_went_wrong_and_which_were_fine():
    checks = [ok("api", "/api", "example.com")] * 4
    via = {("172.18.0.3", 80): "replica-worker", ("172.18.0.4", 80): "replica-worker2"}
    responses = [Response(Request("172.18.0.3", 80, "/api", "example.com"), Outcome.OK, 1.0, 200,
                          body=echo().body)] * 2
    responses += [Response(Request("172.18.0.4", 80, "/api", "example.com"), Outcome.TIMEOUT, 5000.0, error="timed out")] * 2
    verdict = judge_round(checks, responses, entry_of=lambda r: via[(r.request.address, r.request.port)])
    assert not verdict.ok
    assert verdict.reason.startswith("2/4 wrong: via replica-worker2: 2/2 wrong, e.g. ")
    assert verdict.reason.endswith("; fine: replica-worker")
    assert judge_round(checks[:2], responses[:2], entry_of=lambda r: "x").ok
