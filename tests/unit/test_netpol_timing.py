"""Time-to-effect of live policy changes: which cells get watched, and the figures per step and run."""
import pytest

from cnimatrix.netpol import cases as C
from cnimatrix.netpol import timing
from cnimatrix.netpol.reachability import Target, expected
from cnimatrix.probe.timeline import Flip

BY_NAME = {case.name: case for case in C.load_all()}
NODES = {pod: f"node-{i % 3}" for i, pod in enumerate(C.MATRIX_PODS)}


def tables(state, targets):
    return {t: expected(state.policies, state.namespaces, state.pods, t) for t in targets}


def flips_of(case_name: str, step: int = 1):
    case = BY_NAME[case_name]
    states = C.states(case)
    return tables(states[step - 1], case.targets), tables(states[step], case.targets)


def test_watched_cells_are_cells_the_step_flips_spread_over_sources_and_kinds():
    before, after = flips_of("update-policy-port")
    cells = timing.changing_cells(before, after, NODES)
    assert 0 < len(cells) <= timing.MAX_WATCHED
    for src, dst, target, want in cells:
        assert src != dst
        assert before[target].get(src, dst) != want == after[target].get(src, dst)
    assert len({c[0] for c in cells}) > 1, "several sources, not one pod's row"
    assert {c[3] for c in cells} == {True, False}, "moving the port both opens and closes cells"


def test_every_live_update_step_has_cells_to_watch():
    for case in (c for c in BY_NAME.values() if c.steps):
        states = C.states(case)
        for number in range(1, len(states)):
            before, after = tables(states[number - 1], case.targets), tables(states[number], case.targets)
            assert timing.changing_cells(before, after, NODES), f"{case.name} step {number} changes no cell"


def test_no_change_no_cells_and_the_limit_holds():
    before, _ = flips_of("update-policy-peer")
    assert timing.changing_cells(before, before, NODES) == []
    deny_all, _ = flips_of("delete-policy-ends-enforcement")
    empty = {t: expected([], C.matrix_namespaces(), C.matrix_pods(C.SAMPLE_IPS), t) for t in deny_all}
    assert len(timing.changing_cells(deny_all, empty, NODES, limit=2)) == 2


def flip(held, first=None, early=0, before=5, flaps=0):
    return Flip(before, early, first if first is not None else held, held, flaps)


def test_step_figures_first_and_last_watched_flip():
    figures = timing.step_figures([flip(0.3), flip(0.1, flaps=1), flip(0.25)], 2.4)
    assert figures == {"watched": 3, "matrix_converged_s": 2.4, "first_flip_s": 0.1, "all_flipped_s": 0.3, "flaps": 1,
                       "early": 0}


def test_a_few_early_probes_are_noise_most_are_not():
    noisy = timing.step_figures([flip(0.3, early=1, before=5), flip(0.2)], 2.0)
    assert noisy["early"] == 1 and noisy["all_flipped_s"] == 0.3


@pytest.mark.parametrize("flips, note", [
    ([], "no cell changes verdict"),
    ([flip(0.2), flip(0.1, early=3, before=5)], "most probes before the change already showed the new verdict"),
    ([flip(0.2, before=0)], "a watcher sent no probe before the change"),
    ([flip(0.2), flip(None)], "1 watched cell(s) did not hold the new verdict before the watch ended"),
])
def test_step_figures_say_why_a_time_is_missing(flips, note):
    figures = timing.step_figures(flips, None)
    assert figures["note"] == note and figures["all_flipped_s"] is None


def test_run_summary_over_steps():
    steps = [timing.step_figures([flip(0.1), flip(0.2)], 3.0), timing.step_figures([flip(0.3)], 5.0),
             timing.step_figures([flip(0.2, early=1, before=1)], 2.0)]
    result = timing.summary(steps, [100.0, 100.0, 300.0])
    assert result["steps"] == 3
    assert result["first_flip_s"]["count"] == 2 and result["first_flip_s"]["p50"] == pytest.approx(0.2)
    assert result["all_flipped_s"]["max"] == pytest.approx(0.3)
    assert result["matrix_converged_s"]["count"] == 3 and result["matrix_converged_s"]["max"] == 5.0
    assert result["resolution_ms"] == {"p50": 100.0, "p99": pytest.approx(296.0), "max": 300.0}
    assert result["unmeasured"] == ["most probes before the change already showed the new verdict"]


def test_cells_target_type():
    before, after = flips_of("update-policy-types")
    assert all(isinstance(c[2], Target) for c in timing.changing_cells(before, after, NODES))


def test_cells_going_to_or_from_undefined_are_not_watched():
    """Cluster policies of equal priority that disagree leave a cell undefined (None): no flip to time."""
    before, after = flips_of("update-policy-port")
    flipped = timing.changing_cells(before, after, NODES)
    src, dst, target, _ = flipped[0]
    after[target].record(src, dst, None)
    assert (src, dst, target) not in {c[:3] for c in timing.changing_cells(before, after, NODES)}
    assert (src, dst, target) not in {c[:3] for c in timing.changing_cells(after, before, NODES)}
    assert len(timing.changing_cells(before, after, NODES)) >= 1
