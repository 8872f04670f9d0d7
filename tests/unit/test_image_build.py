"""Build-step keys and freshness: what makes a warm `make images` skip work."""

import pytest

from cnimatrix.images import build
from cnimatrix.images.build import Step, StepFailed, compute_keys, run_steps


def noop(ctx):
    (ctx.out / "bin").mkdir(exist_ok=True)
    (ctx.out / "bin" / "tool").write_text("built")


def other(ctx):
    (ctx.out / "x").write_text("y")


@pytest.fixture(autouse=True)
def state(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "STATE", tmp_path)
    return tmp_path


def steps(version="v1"):
    return [Step("a", "step a", {"v": version}, noop, files=("bin/tool",)),
            Step("b", "step b", {}, other, files=("x",), needs=("a",))]


def test_keys_follow_inputs_code_and_dependencies():
    first, second = steps("v1"), steps("v2")
    compute_keys(first)
    compute_keys(second)
    assert first[0].key != second[0].key
    assert first[1].key != second[1].key  # b needs a, so a's change reaches b
    again = steps("v1")
    compute_keys(again)
    assert [s.key for s in again] == [s.key for s in first]
    changed_code = [Step("a", "step a", {"v": "v1"}, other, files=("x",))]
    compute_keys(changed_code)
    assert changed_code[0].key != first[0].key


def test_second_run_skips_fresh_steps(capsys):
    assert set(run_steps(steps())) == {"a", "b"}
    assert run_steps(steps()) == {}
    assert "up to date" in capsys.readouterr().out


def test_missing_output_rebuilds(state):
    run_steps(steps())
    (state / "build" / "a" / "bin" / "tool").unlink()
    assert set(run_steps(steps())) == {"a"}


def test_failing_step_names_its_log_and_leaves_no_stamp(state):
    def broken(ctx):
        ctx.run("sh", "-c", "echo compiling; exit 3")
    with pytest.raises(StepFailed) as failure:
        run_steps([Step("c", "step c", {}, broken, files=("out",))])
    assert "exited 3" in str(failure.value) and str(state / "logs" / "images" / "c.log") in str(failure.value)
    assert "compiling" in (state / "logs" / "images" / "c.log").read_text()
    assert not (state / "build" / "c" / ".stamp").exists()


def test_step_that_forgets_an_output_fails():
    with pytest.raises(StepFailed, match="did not produce"):
        run_steps([Step("d", "step d", {}, lambda ctx: None, files=("never",))])
