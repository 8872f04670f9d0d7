"""Run records and leftovers: a live run's cluster is never stale; a killed run's is; a user's own
kind clusters are never touched."""
from __future__ import annotations

import os
import subprocess

import pytest

from cnimatrix.run import ownership
from cnimatrix.run.ownership import Owner, Record

BOOT = "boot-1"
LIVE, DEAD = Owner(100, 1), Owner(200, 1)


def alive(owner: Owner) -> bool:
    return owner == LIVE


def record(cluster: str, *owners: Owner, keep: bool = False, boot: str = BOOT) -> Record:
    return Record(cluster=cluster, cni=cluster.removeprefix("cnimatrix-"), owners=owners, boot=boot, started_at=0.0, keep=keep)


def plan(records, clusters, helpers=None, everything=False):
    return ownership.leftovers(records, clusters, helpers or {}, BOOT, alive=alive, everything=everything)


def test_a_killed_runs_cluster_helpers_and_record_go():
    found = plan([record("cnimatrix-flannel", DEAD)], ["cnimatrix-flannel"],
                 {"cnimatrix-flannel-outside-client": "cnimatrix-flannel"})
    assert found.clusters == ["cnimatrix-flannel"]
    assert found.helpers == ["cnimatrix-flannel-outside-client"]
    assert found.records == ["cnimatrix-flannel"]


def test_a_live_runs_cluster_stays_even_for_make_clean():
    for everything in (False, True):
        found = plan([record("cnimatrix-calico", DEAD, LIVE)], ["cnimatrix-calico"],
                     {"cnimatrix-calico-outside-client": "cnimatrix-calico"}, everything=everything)
        assert not found and found.live == ["cnimatrix-calico"]


def test_kept_clusters_stay_for_the_next_run_and_go_with_make_clean():
    kept = [record("cnimatrix-calico", keep=True)]
    assert not plan(kept, ["cnimatrix-calico"])
    assert plan(kept, ["cnimatrix-calico"], everything=True).clusters == ["cnimatrix-calico"]


def test_a_users_own_clusters_are_never_touched():
    for everything in (False, True):
        found = plan([], ["kind", "dev", "cnimatrix-flannel"], everything=everything)
        assert "kind" not in found.clusters and "dev" not in found.clusters


def test_unrecorded_cnimatrix_clusters_are_left_to_make_clean():
    """No record: made by an older cnimatrix or a run whose record we cannot see; only make clean removes it."""
    assert not plan([], ["cnimatrix-flannel"])
    assert plan([], ["cnimatrix-flannel"], everything=True).clusters == ["cnimatrix-flannel"]


def test_a_record_from_before_a_reboot_is_dead_even_if_its_pid_is_alive_now():
    found = plan([record("cnimatrix-flannel", LIVE, boot="boot-0")], ["cnimatrix-flannel"])
    assert found.clusters == ["cnimatrix-flannel"] and not found.live


def test_a_cluster_recorded_as_ours_under_another_name_is_ours():
    found = plan([record("soak", DEAD)], ["soak", "dev"])
    assert found.clusters == ["soak"]


def test_helpers_of_a_vanished_cluster_go_and_others_stay():
    found = plan([], ["cnimatrix-calico"], {"a": "cnimatrix-gone", "b": "cnimatrix-calico"})
    assert found.helpers == ["a"] and not found.clusters


def test_records_of_clusters_that_are_gone_are_forgotten():
    found = plan([record("cnimatrix-flannel", DEAD), record("cnimatrix-calico", keep=True)], [])
    assert found.records == ["cnimatrix-calico", "cnimatrix-flannel"] and not found.clusters


# --------------------------------------------------------------------------- records on disk


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("CNIMATRIX_STATE", str(tmp_path))
    return tmp_path / "runs"


def test_this_process_is_alive_and_a_reused_pid_is_not():
    me = Owner(os.getpid(), ownership.start_time(os.getpid()))
    assert ownership.process_alive(me)
    assert not ownership.process_alive(Owner(me.pid, me.started + 1))
    assert ownership.start_time(2**22 + 7) is None


def test_a_second_claim_on_a_live_runs_cluster_is_refused(state):
    first = ownership.claim("cnimatrix-flannel", "flannel", command="cnimatrix run --cni flannel")
    with pytest.raises(ownership.Busy, match=r"cnimatrix-flannel is in use by a live run since .* cnimatrix run --cni flannel"):
        ownership.claim("cnimatrix-flannel", "flannel")
    ownership.claim("cnimatrix-calico", "calico")  # another CNI side by side
    ownership.finish(first)
    ownership.claim("cnimatrix-flannel", "flannel")


def test_a_dead_claim_is_taken_over(state):
    sleeper = subprocess.Popen(["sleep", "30"])
    first = ownership.add_owner(ownership.claim("cnimatrix-flannel", "flannel"), sleeper.pid)
    dead = ownership.Record(**{**first.__dict__, "owners": (first.owners[1],)})  # only the child left
    (state / "cnimatrix-flannel.json").write_text(dead.to_json())
    with pytest.raises(ownership.Busy):
        ownership.claim("cnimatrix-flannel", "flannel")  # the child still runs: still live
    sleeper.kill()
    sleeper.wait()
    assert ownership.claim("cnimatrix-flannel", "flannel").owners[0].pid == os.getpid()


def test_finish_forgets_or_keeps(state):
    ownership.finish(ownership.claim("cnimatrix-flannel", "flannel"))
    assert ownership.read_all() == []
    ownership.finish(ownership.claim("cnimatrix-calico", "calico", keep=True))
    (kept,) = ownership.read_all()
    assert kept.keep and kept.owners == () and not ownership.is_live(kept, ownership.boot_id())


def test_a_record_cut_short_is_dropped(state):
    state.mkdir(parents=True)
    (state / "cnimatrix-flannel.json").write_text('{"cluster": "cnimatrix-fl')
    assert ownership.read_all() == [] and not (state / "cnimatrix-flannel.json").exists()


def test_the_registry_goes_before_the_confinement_rule_is_released(monkeypatch):
    """guard.release frees the rule only when nothing is left on the kind network: the registry
    container must be gone by then, or the rule stays behind after the last cluster."""
    from cnimatrix.cluster import guard
    from cnimatrix.registry import local

    calls = []
    monkeypatch.setattr(local, "stop_if_unused", lambda network: calls.append("registry") or "stopped")
    monkeypatch.setattr(guard, "release", lambda network: calls.append("rule") or "released")
    line = ownership.remove(ownership.Leftovers(), "kind")
    assert calls == ["registry", "rule"]
    assert "firewall rule" in line and "local registry" in line
