"""bench/cpu_share.py: a run's CPU by part, from cgroup samples (synthetic ones here)."""
import importlib.util
from pathlib import Path

SPEC = importlib.util.spec_from_file_location("cpu_share", Path(__file__).resolve().parents[2] / "bench" / "cpu_share.py")
cpu_share = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(cpu_share)

NODE = "/c0f91062"
STATIC = f"{NODE}/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/kubelet-kubepods-burstable-pod9faa905709aff7611c4720ae25705e49.slice"
POD = f"{NODE}/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod474de985_d27f_425b_8abb_9c0120e4a7cb.slice"
S = 1_000_000_000


def sample(t, root, node, static, pod, extra=None):
    cg = {"": (node + 1) * S, NODE: node * S, STATIC: static * S, POD: pod * S, f"{POD}/cri-containerd-b5ce.scope": pod * S, **(extra or {})}
    return {"t": t, "load": ["1", "1", "1"], "root": root * S, "cg": cg}


def test_each_part_is_what_grew_between_samples():
    wall, cpu, shares = cpu_share.summarize([sample(0, 100, 50, 10, 5), sample(10, 116, 62, 13, 9)])
    assert (wall, cpu) == (10, 16)
    # the node grew 12: 3 static, 4 the pod (its container's own line is inside it), 5 the node's own
    assert shares[cpu_share.STATIC] == 3 and shares[cpu_share.PODS] == 4 and shares[cpu_share.NODE] == 5
    assert shares[cpu_share.HOST] == 4   # the host grew 16, Docker's containers 12


def test_a_cgroup_that_appears_or_goes_between_samples_counts_from_the_next():
    new_pod = f"{NODE}/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort-podaaaaaaaa_bbbb_cccc_dddd_eeeeeeeeeeee.slice"
    gone = sample(20, 120, 63, 13, 9)
    gone["cg"].pop(NODE)   # the cluster deleted: its growth is no one's
    _, _, shares = cpu_share.summarize([sample(0, 100, 50, 10, 5), sample(10, 110, 58, 11, 6, {new_pod: 7 * S}), gone])
    assert shares[cpu_share.PODS] == 1   # the new pod's 7 s before it was first seen do not count, nor the gone node's
    assert shares[cpu_share.STATIC] == 1 and shares[cpu_share.NODE] == 8 - 1 - 1
    assert shares[cpu_share.HOST] == (10 - 8) + 10


def test_static_pods_and_other_pods_are_told_apart_by_their_slice_names():
    assert cpu_share.part_of(STATIC) == cpu_share.STATIC and cpu_share.part_of(POD) == cpu_share.PODS
    assert cpu_share.part_of(NODE) is None and cpu_share.part_of(f"{POD}/cri-containerd-b5ce.scope") is None
