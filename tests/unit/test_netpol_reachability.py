"""Reachability tables: building expected ones from the engine, diffing, rendering, JSON."""
import json
import textwrap

import pytest

from cnimatrix.netpol.semantics import API_VERSION, Pod
from cnimatrix.netpol.reachability import Target, diff, expected, observed, render, render_diff, report, to_json, where

PODS = (Pod("x", "a", {"pod": "a"}, "10.0.1.1"), Pod("x", "b", {"pod": "b"}, "10.0.1.2"), Pod("y", "a", {"pod": "a"}, "10.0.2.1"))
KEYS = tuple(p.key for p in PODS)
NAMESPACES = {"x": {}, "y": {}}
TCP80 = Target(80, "TCP")
# x/a admits only pods of its own namespace; nothing else is isolated.
POLICIES = [{"apiVersion": API_VERSION, "kind": "NetworkPolicy",
             "metadata": {"name": "x-a-from-x", "namespace": "x"},
             "spec": {"podSelector": {"matchLabels": {"pod": "a"}}, "ingress": [{"from": [{"podSelector": {}}]}]}}]


def text(block: str) -> str:
    return textwrap.dedent(block).strip("\n")


def fill(values: dict[tuple[str, str], bool | None]):
    table = observed(KEYS, TCP80)
    for (src, dst), allowed in values.items():
        table.record(src, dst, allowed)
    return table


def as_expected(**overrides):
    """An observed table equal to the expected one, with some cells overridden ('y/a->x/a': False)."""
    cells = {(s, d): not (s == "y/a" and d == "x/a") for s in KEYS for d in KEYS}
    for key, value in overrides.items():
        src, dst = key.split("->")
        cells[(src, dst)] = value
    return fill(cells)


@pytest.mark.parametrize("text_form, target", [("80/TCP", Target(80, "TCP")), ("81/UDP", Target(81, "UDP"))])
def test_target_parse_and_str(text_form, target):
    assert Target.parse(text_form) == target and str(target) == text_form


@pytest.mark.parametrize("bad", ["80", "80/tcp", "http/TCP", "0/TCP", "70000/UDP", "80/ICMP"])
def test_target_parse_rejects(bad):
    with pytest.raises(ValueError, match="PORT/PROTOCOL"):
        Target.parse(bad)


def test_expected_table_holds_verdicts_and_reasons():
    table = expected(POLICIES, NAMESPACES, PODS, TCP80)
    assert table.pods == KEYS
    assert [table.get("x/b", "x/a"), table.get("y/a", "x/a"), table.get("x/a", "y/a")] == [True, False, True]
    assert table.denied() == 1
    assert "no rule of policies x/x-a-from-x allows y/a -> x/a 80/TCP" in table.reasons[("y/a", "x/a")]


def test_observed_table_starts_unknown_and_refuses_strangers():
    table = observed(KEYS, TCP80)
    assert table.get("x/a", "x/b") is None
    table.record("x/a", "x/b", False)
    assert table.get("x/a", "x/b") is False
    with pytest.raises(KeyError, match="z/a"):
        table.record("x/a", "z/a", True)


def test_denied_counts_loopback_only_on_request():
    table = fill({("x/a", "x/a"): False, ("x/a", "x/b"): False, ("x/b", "x/a"): True})
    assert table.denied() == 1
    assert table.denied(include_loopback=True) == 2


def test_diff_of_matching_tables_is_ok():
    result = diff(expected(POLICIES, NAMESPACES, PODS, TCP80), as_expected())
    assert result.ok and result.mismatches == () and result.loopback == ()


def test_diff_reports_each_mismatch_with_the_engines_reason():
    result = diff(expected(POLICIES, NAMESPACES, PODS, TCP80), as_expected(**{"y/a->x/a": True, "x/b->y/a": None}))
    assert not result.ok
    assert [(m.src, m.dst, m.expected, m.observed) for m in result.mismatches] == [
        ("x/b", "y/a", True, None), ("y/a", "x/a", False, True)]
    assert result.mismatches[0].why == ("egress of x/b: not isolated (no Egress policy selects it); "
                                        "ingress of y/a: not isolated (no Ingress policy selects it)")
    assert result.mismatches[1].why.startswith("ingress of x/a: no rule of policies x/x-a-from-x")


def test_diff_shows_but_does_not_count_loopback():
    result = diff(expected(POLICIES, NAMESPACES, PODS, TCP80), as_expected(**{"x/b->x/b": False}))
    assert result.ok
    assert [(m.src, m.dst, m.observed) for m in result.loopback] == [("x/b", "x/b", False)]


def test_diff_refuses_tables_of_different_shape():
    with pytest.raises(ValueError, match="shape"):
        diff(expected(POLICIES, NAMESPACES, PODS, TCP80), observed(KEYS, Target(81, "TCP")))
    with pytest.raises(ValueError, match="shape"):
        diff(expected(POLICIES, NAMESPACES, PODS, TCP80), observed(KEYS[:2], TCP80))


def test_render_expected():
    assert render(expected(POLICIES, NAMESPACES, PODS, TCP80)) == text("""
            x/a x/b y/a
        x/a  .   .   .
        x/b  .   .   .
        y/a  X   .   .
    """)


def test_render_observed_marks_missing_answers():
    assert render(fill({("x/a", "x/b"): True, ("x/b", "x/a"): False})) == text("""
            x/a x/b y/a
        x/a  ?   .   ?
        x/b  X   ?   ?
        y/a  ?   ?   ?
    """)


def test_render_diff():
    result = diff(expected(POLICIES, NAMESPACES, PODS, TCP80), as_expected(**{"y/a->x/a": True, "x/a->x/a": False}))
    assert render_diff(result) == text("""
            x/a x/b y/a
        x/a  -   .   .
        x/b  .   -   .
        y/a  X   .   -
    """)


def test_report_stacks_the_three_tables_and_explains_mismatches():
    result = diff(expected(POLICIES, NAMESPACES, PODS, TCP80), as_expected(**{"y/a->x/a": True}))
    lines = report(result).splitlines()
    assert [line for line in lines if line.startswith("80/TCP")] == [
        "80/TCP expected (. allowed, X denied)", "80/TCP observed (? no answer)",
        "80/TCP difference (X differs, - loopback, not judged)"]
    assert lines[-1] == ("y/a -> x/a: expected denied, observed allowed: "
                         "ingress of x/a: no rule of policies x/x-a-from-x allows y/a -> x/a 80/TCP")


def test_json_form():
    result = diff(expected(POLICIES, NAMESPACES, PODS, TCP80), as_expected(**{"y/a->x/a": True, "x/b->x/b": None}))
    assert to_json(result) == {
        "target": "80/TCP",
        "pods": ["x/a", "x/b", "y/a"],
        "expected": ["...", "...", "X.."],
        "observed": ["...", ".?.", "..."],
        "difference": ["-..", ".-.", "X.-"],
        "mismatches": 1,
        "loopback_differences": 1,
        "cells": [{"from": "y/a", "to": "x/a", "expected": "denied", "observed": "allowed",
                   "why": "ingress of x/a: no rule of policies x/x-a-from-x allows y/a -> x/a 80/TCP"}],
    }
    json.dumps(to_json(result))   # serialisable as is


def test_where_groups_one_pods_cells_and_counts_the_rest():
    want = expected(POLICIES, NAMESPACES, PODS, TCP80)
    # x/b stops answering on 80/TCP: a one-cell fault shows as one group, from every other pod
    result = diff(want, as_expected(**{"x/a->x/b": None, "y/a->x/b": None}))
    assert where([result]) == ("2 of 6 cells differ: to x/b 80/TCP from every other pod: expected allowed, "
                               "observed no answer; the other 4 as expected")


def test_where_lists_the_sources_of_a_partial_group_and_is_empty_when_all_match():
    want = expected(POLICIES, NAMESPACES, PODS, TCP80)
    result = diff(want, as_expected(**{"y/a->x/a": True}))
    assert where([result]) == ("1 of 6 cells differ: to x/a 80/TCP from y/a: expected denied, observed allowed; "
                               "the other 5 as expected")
    assert where([diff(want, as_expected())]) == ""


def undefined_expected():
    """The expected table with y/a -> x/a left undefined (cluster policies of equal priority that disagree)."""
    table = expected(POLICIES, NAMESPACES, PODS, TCP80)
    table.record("y/a", "x/a", None)
    table.reasons[("y/a", "x/a")] = "Deny and Accept at priority 10"
    return table


@pytest.mark.parametrize("seen", [True, False])
def test_an_undefined_cell_is_reported_but_not_judged_whatever_it_shows(seen):
    result = diff(undefined_expected(), as_expected(**{"y/a->x/a": seen}))
    assert result.ok and not result.mismatches
    assert [(c.src, c.dst, c.observed, c.why) for c in result.undefined] == [("y/a", "x/a", seen, "Deny and Accept at priority 10")]
    assert result.mark("y/a", "x/a") == "-"
    assert to_json(result)["undefined"] == [{"from": "y/a", "to": "x/a", "observed": "allowed" if seen else "denied",
                                             "why": "Deny and Accept at priority 10"}]
    assert to_json(result)["expected"][2] == "~.."   # the row of y/a: to x/a undefined
    shown = report(result)
    assert "~ no defined verdict" in shown and "y/a -> x/a: no defined verdict, observed" in shown


def test_a_defined_cell_beside_an_undefined_one_is_still_judged():
    result = diff(undefined_expected(), as_expected(**{"x/a->x/b": False}))
    assert not result.ok and [(m.src, m.dst) for m in result.mismatches] == [("x/a", "x/b")]
    assert result.mark("x/a", "x/b") == "X"
    assert "undefined" in to_json(result) and "undefined" not in to_json(diff(*[expected(POLICIES, NAMESPACES, PODS, TCP80)] * 2))
