"""Two perf runs held ratio against ratio (cnimatrix.perf.agreement)."""
from cnimatrix.perf.agreement import Pair, agreed, pairs, table, tally, widened


def ratio(median, low=None, high=None, marks=()):
    ci = {"low": low, "high": high} if low is not None else None
    return {"median": median, "ci95": ci, "marks": [{"kind": k, "reason": "r"} for k in marks]}


def test_overlapping_intervals_agree():
    assert Pair("cluster-ip", "rr_p50_us", ratio(1.0, 0.9, 1.1), ratio(1.05, 1.0, 1.2)).verdict == "agree"


def test_disjoint_intervals_disagree():
    assert Pair("cluster-ip", "rr_p50_us", ratio(1.0, 0.9, 1.1), ratio(1.5, 1.3, 1.7)).verdict == "disagree"


def test_intervals_narrower_than_the_resolution_are_widened_to_it():
    # 1.0002 +- 0.0003 against 0.9990 +- 0.0003: 0.1% apart, within the figures' resolution
    a, b = ratio(1.0002, 0.9999, 1.0005), ratio(0.9990, 0.9987, 0.9993)
    assert widened(a) == (1.0002 - 0.010002, 1.0002 + 0.010002)
    assert Pair("pod-same-node", "udp_gbps", a, b).verdict == "agree"
    # ... but not 5% apart
    assert Pair("pod-same-node", "udp_gbps", a, ratio(0.95, 0.949, 0.951)).verdict == "disagree"


def test_a_ratio_without_interval_or_missing_cannot_be_told():
    assert Pair("r", "f", ratio(1.0), ratio(1.0, 0.9, 1.1)).verdict == "no interval in a"
    assert Pair("r", "f", None, ratio(1.0, 0.9, 1.1)).verdict == "only in b"
    assert Pair("r", "f", ratio(1.0, 0.9, 1.1), None).verdict == "only in a"


def test_every_ratio_must_agree_and_there_must_be_one():
    good = pairs({"r": {"f": ratio(1, 0.9, 1.1), "g": ratio(2, 1.9, 2.1)}},
                 {"r": {"f": ratio(1, 0.95, 1.05), "g": ratio(2.05, 2.0, 2.1)}})
    assert agreed(good) and tally(good) == {"agree": 2}
    bad = pairs({"r": {"f": ratio(1, 0.9, 1.1), "g": ratio(2, 1.9, 2.1)}},
                {"r": {"f": ratio(1, 0.95, 1.05)}, "s": {"f": ratio(3, 2.9, 3.1)}})
    assert not agreed(bad)
    assert tally(bad) == {"agree": 1, "not comparable": 2}
    assert not agreed([])


def test_table_shows_both_runs_the_verdict_and_marks():
    found = pairs({"cluster-ip": {"tcp_1_gbps": ratio(1.2, 1.1, 1.3, marks=("suspect",))}},
                  {"cluster-ip": {"tcp_1_gbps": ratio(0.8, 0.7, 0.9)}})
    text = table(found, ("first", "second"))
    assert "| route | ratio | first | second | verdict | marks |" in text
    assert "| cluster-ip | tcp_1_gbps | 1.200 [1.100, 1.300] | 0.800 [0.700, 0.900] | disagree | a: suspect |" in text
