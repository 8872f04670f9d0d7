"""The perf suite's pure logic: routes, tool commands and parsers, ratios with spread."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from cnimatrix.perf.datapath import (ALL_ROUTES, BASELINES, ORDER, ROUTES, MeasurementError, Settings, iperf3_command,
                                     LoopRun, loop_command, parse_iperf3, parse_loop, parse_set, set_script,
                                     split_sections)
from cnimatrix.perf.figures import loop_figures, per_rep_ratios, route_summary, spread


def iperf_json(kind: str, bps: float, **extra) -> str:
    if kind == "udp":
        end = {"sum": {"bits_per_second": bps, "jitter_ms": 0.05, "lost_percent": 1.5, **extra}}
    else:
        end = {"sum_sent": {"bits_per_second": bps * 1.01, "retransmits": 3}, "sum_received": {"bits_per_second": bps}}
    return json.dumps({"start": {}, "intervals": [], "end": end}, indent=1)


def test_every_route_has_a_measured_baseline_right_before_it():
    assert set(ORDER) == set(ALL_ROUTES)
    for route in ROUTES:
        assert ALL_ROUTES[route.baseline].is_baseline
        assert ORDER.index(route.baseline) < ORDER.index(route.id)
    assert all(b.client in ("host", "outside") and b.target.startswith("node-") for b in BASELINES)


def test_iperf3_commands_carry_streams_rate_and_a_timeout():
    settings = Settings(seconds=2, streams=4, udp_mbps=80, udp_length=1200)
    assert "-P 4" in iperf3_command("10.0.0.1", 5201, settings, "tcp_n")
    udp = iperf3_command("10.0.0.1", 5201, settings, "udp")
    assert "-u -b 80M -l 1200" in udp and udp.startswith("timeout 22 iperf3 -c 10.0.0.1 -p 5201 -t 2 -J")
    assert "-P" not in iperf3_command("10.0.0.1", 5201, settings, "tcp_1")


def test_parse_iperf3_reads_the_receiver_side():
    assert parse_iperf3(iperf_json("tcp_1", 2e9), "tcp_1") == {"tcp_1_gbps": 2.0, "tcp_1_retransmits": 3.0}
    assert parse_iperf3(iperf_json("tcp_n", 5e8), "tcp_n")["tcp_n_gbps"] == 0.5
    udp = parse_iperf3(iperf_json("udp", 1e8), "udp")
    assert udp == {"udp_gbps": 0.1, "udp_loss_pct": 1.5, "udp_jitter_ms": 0.05}


def test_parse_iperf3_prefers_the_udp_receiver_summary():
    doc = {"end": {"sum": {"bits_per_second": 1e8, "lost_percent": 0}, "sum_received": {"bits_per_second": 5e7,
                                                                                       "lost_percent": 50, "jitter_ms": 1}}}
    assert parse_iperf3(json.dumps(doc), "udp") == {"udp_gbps": 0.05, "udp_loss_pct": 50.0, "udp_jitter_ms": 1.0}


@pytest.mark.parametrize("text, said", [
    ('{"start": {}, "end": {}, "error": "unable to connect to server: Connection refused"}', "Connection refused"),
    ("iperf3: error - unable to connect", "no JSON"),
    ('{"end": {"sum_sent": {"bits_per_second": 1}}}', "without a receiver summary"),
])
def test_parse_iperf3_says_why_there_is_no_figure(text, said):
    with pytest.raises(MeasurementError, match=said):
        parse_iperf3(text, "tcp_1")


def test_parse_loop_reads_samples_and_wall_time():
    assert parse_loop("noise\n@@rr ok 30,31,45 wall_us=1500000\n") == LoopRun([30, 31, 45], 1.5)
    assert parse_loop("@@crr ok 200,210 wall_us=500\n", "crr") == LoopRun([200, 210], 0.0005)
    assert parse_loop("@@rr ok 30,31\n") == LoopRun([30, 31], None)     # a line without the wall time


def test_parse_loop_reads_the_stalled_transactions_and_the_set_says_so():
    assert parse_loop("@@crr ok 200,210 wall_us=500 stalls=2\n", "crr") == LoopRun([200, 210], 0.0005, 2)
    assert parse_loop("@@crr ok 200,210 wall_us=500 stalls=0\n", "crr").stalls == 0
    with pytest.raises(MeasurementError, match=r"timed no transaction \(1 stalled past 3 s\)"):
        parse_loop("@@rr ok  wall_us=3000000 stalls=1", "rr")
    _, loops, problems = parse_set("\n".join(["@@begin rr", "@@rr ok 10,20 wall_us=100 stalls=0", "@@end rr 0",
                                              "@@begin crr", "@@crr ok 100,200 wall_us=400 stalls=3", "@@end crr 0"]))
    assert loops["crr"].stalls == 3 and loops["rr"].stalls == 0
    assert "crr: 3 transaction(s) stalled past 3 s and were abandoned (not in the figures; 2 timed)" in problems
    assert not any(p.startswith("rr:") for p in problems)


def test_a_server_that_never_answers_is_a_stall_not_a_lost_run():
    """A listener that accepts (the kernel's backlog) and never reads: the loop abandons the
    transaction after STALL_S, counts it, and still ends with its result line."""
    import socket
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    try:
        out = subprocess.run(["sh", "-c", loop_command("rr", "127.0.0.1", port, Settings(rr_budget_s=1))],
                             capture_output=True, text=True, timeout=30).stdout
    finally:
        listener.close()
    assert "stalls=1" in out
    with pytest.raises(MeasurementError, match="1 stalled"):
        parse_loop(out, "rr")


def test_parse_loop_says_why_there_is_no_figure():
    with pytest.raises(MeasurementError, match="connect 10.0.0.1:5300: Connection refused"):
        parse_loop("@@rr error: connect 10.0.0.1:5300: Connection refused")
    with pytest.raises(MeasurementError, match="crr loop printed no result"):
        parse_loop("@@rr ok 30,31 wall_us=9", "crr")     # another mode's line is not this one's
    with pytest.raises(MeasurementError, match="rr loop printed no result"):
        parse_loop("")
    with pytest.raises(MeasurementError, match="timed no transaction"):
        parse_loop("@@crr ok  wall_us=1000000", "crr")


def test_loop_commands_differ_only_in_mode_count_and_budget_and_end_with_the_stall_bound():
    settings = Settings(rr_count=2000, rr_budget_s=1.0, crr_count=500, crr_budget_s=2.5, rr_size=32)
    assert loop_command("rr", "10.0.0.1", 5300, settings).endswith("rr 10.0.0.1 5300 2000 1 32 3")
    assert loop_command("crr", "fd00::1", 5300, settings).endswith("crr fd00::1 5300 500 2.5 32 3")
    with pytest.raises(ValueError, match="no request/response loop 'stream'"):
        loop_command("stream", "10.0.0.1", 5300, settings)


def test_a_set_is_split_by_markers_and_a_cut_run_is_named():
    output = "\n".join(["@@begin tcp_1", iperf_json("tcp_1", 1e9), "@@end tcp_1 0",
                        "@@begin tcp_n", iperf_json("tcp_n", 3e9), "@@end tcp_n 0",
                        "@@begin udp", '{"error": "the server is busy running a test. try again later"}', "@@end udp 1",
                        "@@begin rr", "@@rr ok 10,20,30,40 wall_us=100", "@@end rr 0",
                        "@@begin crr", "@@crr ok 100,200 wall_us=400"])
    assert split_sections(output)["crr"][0] is None
    figures, loops, problems = parse_set(output)
    assert figures["tcp_1_gbps"] == 1.0 and figures["tcp_n_gbps"] == 3.0 and "udp_gbps" not in figures
    assert loops == {"rr": LoopRun([10, 20, 30, 40], 0.0001), "crr": LoopRun([100, 200], 0.0004)}
    assert problems == ["udp: iperf3: the server is busy running a test. try again later (exit 1)"]
    assert parse_set("")[2] == [f"{k}: no output (exec cut short)" for k in ("tcp_1", "tcp_n", "udp", "rr", "crr")]


def test_set_script_runs_each_tool_between_markers():
    script = set_script("10.0.0.2", 5201, 5300, Settings())
    for kind in ("tcp_1", "tcp_n", "udp", "rr", "crr"):
        assert f'"@@begin {kind}"' in script and f"@@end {kind}" in script
    assert script.count("server is busy") == 3   # the iperf3 runs are retried, the echo loops are not
    assert "crr 10.0.0.2 5300 1000 1 32" in script   # both loops aim at the echo port


@pytest.mark.skipif(not shutil.which("perl"), reason="needs perl")
def test_echo_server_and_both_loops_work_against_each_other():
    """The perl programs the pods run, on loopback: each loop times every transaction, the crr loop
    on a new connection each (the one-process server answers them all), and a refused connect is said."""
    from cnimatrix.perf.datapath import ECHO_SERVER

    server = subprocess.Popen(["sh", "-c", ECHO_SERVER, "127.0.0.1", "15399"], start_new_session=True)
    settings = Settings(rr_count=200, rr_budget_s=5, crr_count=100, crr_budget_s=5)
    try:
        runs = {}
        for mode in ("rr", "crr"):
            out = ""
            for _ in range(50):
                out = subprocess.run(["sh", "-c", loop_command(mode, "127.0.0.1", 15399, settings)],
                                     capture_output=True, text=True, timeout=30).stdout
                if f"@@{mode} ok" in out:
                    break
                subprocess.run(["sleep", "0.1"])
            runs[mode] = parse_loop(out, mode)
        assert len(runs["rr"].samples_us) == 200 and len(runs["crr"].samples_us) == 100
        assert all(s >= 0 for run in runs.values() for s in run.samples_us)
        assert runs["crr"].wall_s >= sum(runs["crr"].samples_us) / 1e6
        refused = subprocess.run(["sh", "-c", loop_command("crr", "127.0.0.1", 15398, Settings())], capture_output=True,
                                 text=True, timeout=30).stdout
        with pytest.raises(MeasurementError, match="connect 127.0.0.1:15398"):
            parse_loop(refused, "crr")
    finally:
        server.kill()


def test_spread_median_min_max_and_interval():
    # mean 2, s 1, t(0.975, 2 dof) 4.3027: half-width 4.3027 / sqrt(3) = 2.4841, over the median 2: 1.2421
    assert spread([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 3, "values": [3.0, 1.0, 2.0],
                                       "ci95": {"low": -0.4841, "high": 4.4841, "relative_half_width": 1.2421}}
    assert spread([None, float("nan")]) is None
    assert spread([2.5]) == {"median": 2.5, "min": 2.5, "max": 2.5, "n": 1, "values": [2.5]}   # one value: no interval
    assert spread([0.0, 0.0])["ci95"] == {"low": 0.0, "high": 0.0, "relative_half_width": 0.0}
    assert spread([-1.0, 1.0])["ci95"] == {"low": -12.7062, "high": 12.7062}   # median 0: no relative width


def test_ratios_are_taken_repetition_by_repetition():
    route = [{"tcp_1_gbps": 1.0}, None, {"tcp_1_gbps": 3.0}, {"tcp_1_gbps": 2.0}]
    base = [{"tcp_1_gbps": 2.0}, {"tcp_1_gbps": 2.0}, None, {"tcp_1_gbps": 0.0}]
    # rep 2 has no route figure, rep 3 no baseline, rep 4 a zero baseline: only rep 1 counts
    assert per_rep_ratios(route, base, "tcp_1_gbps") == [0.5]


def test_route_summary_has_figures_and_ratios_with_spread():
    base = [{"tcp_1_gbps": 2.0, "rr_p50_us": 20.0}, {"tcp_1_gbps": 4.0, "rr_p50_us": 25.0}]
    route = [{"tcp_1_gbps": 1.0, "rr_p50_us": 40.0, "udp_loss_pct": 0.0}, {"tcp_1_gbps": 3.0, "rr_p50_us": 50.0}]
    summary = route_summary(route, base)
    assert summary["figures"]["tcp_1_gbps"]["median"] == 2.0
    assert summary["figures"]["udp_loss_pct"]["n"] == 1
    # two ratios, 0.5 and 0.75: mean 0.625, s 0.1768, t(0.975, 1 dof) 12.7062, half-width 1.5883
    assert summary["ratios"]["tcp_1_gbps"] == {"median": 0.625, "min": 0.5, "max": 0.75, "n": 2, "values": [0.5, 0.75],
                                               "ci95": {"low": -0.9633, "high": 2.2133, "relative_half_width": 2.5412}}
    assert summary["ratios"]["rr_p50_us"]["median"] == 2.0
    assert "udp_loss_pct" not in summary["ratios"]          # loss is shown raw: 0 on the baseline is common
    assert route_summary(base, None)["ratios"] == {}


def test_loop_figures():
    samples = list(range(1, 101))
    assert loop_figures("rr", LoopRun(samples, 0.5)) == {"rr_p50_us": 50.5, "rr_p99_us": 99.0, "rr_count": 100.0}
    assert loop_figures("crr", LoopRun(samples, 0.5)) == {"crr_p50_us": 50.5, "crr_p99_us": 99.0, "crr_count": 100.0,
                                                          "crr_per_s": 200.0}
    assert "crr_per_s" not in loop_figures("crr", LoopRun(samples, None))   # no wall time, no rate
    assert loop_figures("rr", LoopRun([], 1.0)) == {} and loop_figures("crr", None) == {}
