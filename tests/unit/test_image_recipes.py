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


def test_calico_node_is_linked_with_cgo_and_the_other_calico_binaries_are_not(monkeypatch, tmp_path):
    """Felix's eBPF dataplane needs cgo (libbpf); upstream builds the rest static."""
    from cnimatrix.images.build import Context
    from cnimatrix.images.recipes import calico, calico_bpf

    builds = []
    monkeypatch.setattr(calico, "go_build", lambda ctx, module, version, packages, **kw: builds.append((packages, kw.get("env"))))
    monkeypatch.setattr(calico_bpf, "go_build", lambda ctx, module, version, packages, **kw: builds.append((packages, kw.get("env"))))
    monkeypatch.setattr(calico_bpf, "check_build_host", lambda: None)
    monkeypatch.setattr(calico.upstream, "module_dir", lambda module, version: tmp_path)
    (tmp_path / "go.mod").write_text("module github.com/projectcalico/calico\n")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "calico").write_bytes(b"")
    calico.build_calico(Context(step="calico", log=tmp_path / "log", out=tmp_path, key="k"))
    (static, no_env), (node, env) = builds
    assert "calico-node" not in static.values() and no_env is None
    assert list(node.values()) == ["calico-node"]
    assert env["CGO_ENABLED"] == "1" and env["CGO_LDFLAGS"].endswith("/calico-bpf/lib")


def test_calico_steps_rebuild_when_the_bpf_recipe_changes():
    """The helpers in calico_bpf.py are part of the calico steps' keys (a key hashes only the step's own function)."""
    from cnimatrix.images.recipes import calico_bpf

    by_name = {s.name: s for s in all_steps()}
    for name in ("calico-bpf", "calico", "calico-images"):
        assert calico_bpf.RECIPE in by_name[name].sources, name
    assert set(calico_bpf.RUNTIME_PACKAGES) <= set(by_name["rootfs-calico"].inputs["packages"])
    assert "calico-bpf" in by_name["calico"].needs and "calico-bpf" in by_name["calico-images"].needs


def test_the_host_set_up_installs_what_the_bpf_build_needs():
    from pathlib import Path

    from cnimatrix.images.recipes import calico_bpf

    setup = (Path(__file__).resolve().parents[2] / "cnimatrix/host/setup.sh").read_text()
    assert f"apt_packages+=({' '.join(calico_bpf.BUILD_PACKAGES)})" in setup
    assert set(calico_bpf.BUILD_NEEDS.values()) == set(calico_bpf.BUILD_PACKAGES)
