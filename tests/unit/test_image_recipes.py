"""The recipe registry: every component's steps, in an order the build can follow."""
import pytest

from cnimatrix.images.build import Step
from cnimatrix.images.recipes import RECIPES, all_steps, in_dependency_order


def step(name, *needs):
    return Step(name, name, {}, lambda ctx: None, needs=needs)


def test_every_step_comes_after_what_it_needs_and_has_one_name():
    steps = all_steps()
    seen = set()
    for s in steps:
        assert set(s.needs) <= seen, f"{s.name} before {set(s.needs) - seen}"
        assert s.name not in seen
        seen.add(s.name)
    assert seen == {s.name for recipe in RECIPES for s in recipe.steps()}
    assert {"kind", "node-image", "calico-images", "flannel-image", "cilium-images", "addon-images"} <= seen


def test_dependency_order_moves_a_step_after_its_needs_and_keeps_the_rest():
    order = in_dependency_order([step("image", "binary", "rootfs"), step("tool"), step("binary"), step("rootfs")])
    assert [s.name for s in order] == ["tool", "binary", "rootfs", "image"]


@pytest.mark.parametrize("steps, problem", [
    ([step("image", "binary")], "step image needs binary, which no recipe makes"),
    ([step("a", "b"), step("b", "a"), step("c")], "step a needs b in a circle"),
])
def test_dependency_order_refuses_what_no_order_can_meet(steps, problem):
    with pytest.raises(ValueError, match=problem):
        in_dependency_order(steps)
