"""cluster.footprint: a cluster's CPU and memory read from its node containers' cgroups (here a
cgroup tree written in a temporary folder, v1 and v2 layouts)."""
from __future__ import annotations

from pathlib import Path

from cnimatrix.cluster.footprint import Footprint, cgroup_dirs, cpu_seconds, working_set_bytes


def v1(root: Path, cid: str, cpu_ns: int, usage: int, inactive: int) -> None:
    cpu, mem = root / "cpuacct" / "docker" / cid, root / "memory" / "docker" / cid
    cpu.mkdir(parents=True, exist_ok=True)
    mem.mkdir(parents=True, exist_ok=True)
    (cpu / "cpuacct.usage").write_text(f"{cpu_ns}\n")
    (mem / "memory.usage_in_bytes").write_text(f"{usage}\n")
    (mem / "memory.stat").write_text(f"cache 5\ntotal_inactive_file {inactive}\n")


def test_v1_cpu_and_working_set(tmp_path):
    v1(tmp_path, "abc", 2_500_000_000, 300 * 2**20, 100 * 2**20)
    cpu, mem = cgroup_dirs("abc", tmp_path)
    assert cpu_seconds(cpu) == 2.5
    assert working_set_bytes(mem) == 200 * 2**20


def test_v2_cpu_and_working_set(tmp_path):
    folder = tmp_path / "system.slice" / "docker-abc.scope"
    folder.mkdir(parents=True)
    (folder / "cpu.stat").write_text("usage_usec 4000000\nuser_usec 1\n")
    (folder / "memory.current").write_text(str(50 * 2**20))
    (folder / "memory.stat").write_text(f"anon 1\ninactive_file {10 * 2**20}\n")
    cpu, mem = cgroup_dirs("abc", tmp_path)
    assert cpu_seconds(cpu) == 4.0 and working_set_bytes(mem) == 40 * 2**20


def test_no_cgroup_found(tmp_path):
    assert cgroup_dirs("nope", tmp_path) is None


def test_cores_from_cpu_over_wall_and_the_peak_of_the_total(tmp_path):
    for cid in ("a", "b"):
        v1(tmp_path, cid, 0, 100 * 2**20, 0)
    fp = Footprint(dirs={cid: cgroup_dirs(cid, tmp_path) for cid in ("a", "b")})
    fp.sample(now=0.0)
    v1(tmp_path, "a", 30 * 10**9, 400 * 2**20, 0)     # a busy at the peak
    v1(tmp_path, "b", 10 * 10**9, 100 * 2**20, 0)
    fp.sample(now=20.0)
    v1(tmp_path, "a", 40 * 10**9, 100 * 2**20, 0)
    v1(tmp_path, "b", 20 * 10**9, 100 * 2**20, 0)
    fp.sample(now=40.0)
    summary = fp.summary()
    assert summary["cpu_s"] == 60.0 and summary["cores_mean"] == 1.5
    assert summary["memory_peak_mib"] == 500 and summary["nodes"] == 2 and summary["samples"] == 3


def test_a_container_gone_keeps_its_last_reading(tmp_path):
    v1(tmp_path, "a", 0, 10, 0)
    fp = Footprint(dirs={"a": cgroup_dirs("a", tmp_path)})
    fp.sample(now=0.0)
    v1(tmp_path, "a", 10 * 10**9, 10, 0)
    fp.sample(now=10.0)
    for f in (tmp_path / "cpuacct" / "docker" / "a").iterdir():
        f.unlink()
    fp.sample(now=20.0)                               # deleted: not read, not counted as a sample
    assert fp.summary()["cpu_s"] == 10.0 and fp.summary()["samples"] == 2


def test_too_few_samples_say_so():
    assert Footprint(unmeasured="no node containers").summary() == {"samples": 0, "note": "no node containers"}
    assert Footprint().summary()["note"] == "too few samples to tell"
