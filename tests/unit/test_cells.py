"""Verdicts cell by cell (cnimatrix/testkit/cells.py): a failure names the bad cells with their
reasons and the cells that passed; every cell fine matches."""
from __future__ import annotations

from cnimatrix.testkit.cells import each_cell, fine, label, node_id


def at_least(n):
    return lambda value: (value >= n, f"got {value}")


def test_every_cell_fine_matches_and_counts_them():
    assert each_cell(at_least(1), "pairs")({("worker", "cp"): 3, ("worker", "worker2"): 2}) == (True, "all 2 pairs fine")


def test_one_bad_cell_is_named_with_its_reason_and_the_good_ones_grouped_by_source():
    cells = {(src, dst): 5 for src in ("cp", "worker", "worker2") for dst in ("cp", "worker", "worker2")}
    cells[("worker", "worker2")] = 0
    ok, reason = each_cell(at_least(1), "cells")(cells)
    assert not ok
    assert reason == ("1/9 cells bad: worker -> worker2; "
                      "fine: cp -> every target; worker -> cp, worker; worker2 -> every target. worker -> worker2: got 0")


def test_every_cell_bad_says_none_fine_and_nothing_observed_fails():
    assert each_cell(at_least(1))({"a": 0, "b": 0}) == (False, "2/2 cells bad: a, b; fine: none. a: got 0; b: got 0")
    assert each_cell(at_least(1), "cells")({}) == (False, "no cells observed")


def test_plain_labels_are_listed_as_they_are():
    assert label(("a", "b")) == "a -> b" and label("x/a:80") == "x/a:80"
    assert fine(["x", "y"], ["x", "y", "z"]) == "x, y"


def test_node_id_is_the_role_part_of_a_kind_node_name():
    assert node_id("cnimatrix-calico-worker2") == "worker2"
    assert node_id("cnimatrix-neg-cilium-kpr-control-plane") == "control-plane"
    assert node_id("node1") == "node1"
