"""run.room: clusters side by side only when measured footprints fit the host; one otherwise."""
from __future__ import annotations

import json

from cnimatrix.results.metrics import ClusterFootprint
from cnimatrix.run.room import available_mib, clusters_at_once, footprint_of

CALICO = ClusterFootprint(cores_mean=1.2, memory_peak_mib=2500)
FLANNEL = ClusterFootprint(cores_mean=0.9, memory_peak_mib=1800)


def test_a_small_host_runs_one_cluster_at_a_time():
    room = clusters_at_once(2, 20000, {"calico": CALICO, "flannel": FLANNEL})
    assert room.clusters == 1 and "bound by cores" in room.why and "1.2 cores" in room.why


def test_a_big_host_runs_several_bounded_by_the_largest_footprint():
    room = clusters_at_once(16, 64000, {"calico": CALICO, "flannel": FLANNEL, "cilium": ClusterFootprint(cores_mean=2.5, memory_peak_mib=4000)})
    assert room.clusters == 3 and room.why.startswith("3 clusters at once")      # 12 cores / 2.5 = 4, capped by 3 CNIs


def test_memory_can_be_the_bound():
    room = clusters_at_once(32, 6000, {"calico": CALICO, "flannel": FLANNEL})
    assert room.clusters == 1 and "bound by memory" in room.why


def test_an_unmeasured_cni_means_one_at_a_time():
    room = clusters_at_once(64, 256000, {"calico": CALICO, "kube-router": None})
    assert room.clusters == 1 and "no footprint measured here for kube-router" in room.why


def test_one_cni_is_one_cluster():
    assert clusters_at_once(64, 256000, {"calico": CALICO}).clusters == 1


def test_footprint_only_from_a_completed_run(tmp_path):
    path = tmp_path / "summary.json"
    path.write_text(json.dumps({"run": {"status": "completed"}, "metrics": {"host": {"cluster": CALICO.to_dict()}}}))
    assert footprint_of(path) == CALICO
    path.write_text(json.dumps({"run": {"status": "interrupted"}, "metrics": {"host": {"cluster": CALICO.to_dict()}}}))
    assert footprint_of(path) is None
    assert footprint_of(tmp_path / "missing.json") is None


def test_available_memory_from_meminfo(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 24000000 kB\nMemAvailable:   20480000 kB\n")
    assert available_mib(meminfo) == 20000
