"""Which run owns which kind cluster, and what a killed run left behind.

`cnimatrix run` records the cluster it creates in <state>/runs/<cluster>.json with its own pid and
its pytest's (and their start times, so a reused pid is not mistaken for the run). While either is
alive the cluster is live: a second run for the same name is refused, and neither the next run nor
`make clean` touches it. A record whose processes are gone (SIGKILL, reboot) and that was not kept
(KEEP=1) marks a cluster, its helper containers and the firewall rule as leftovers; the next run
removes them. `make clean` also removes kept clusters. A user's own kind clusters (not cnimatrix-*
and never recorded as created by cnimatrix) are never touched.
"""
from __future__ import annotations

import fcntl
import json
import os
import subprocess
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

PREFIX = "cnimatrix-"


def runs_dir() -> Path:
    return Path(os.environ.get("CNIMATRIX_STATE", "/var/cache/cnimatrix")) / "runs"


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


@dataclass(frozen=True)
class Owner:
    pid: int
    started: int  # start_time(pid) when recorded


@dataclass(frozen=True)
class Record:
    cluster: str
    cni: str
    owners: tuple[Owner, ...]
    boot: str
    started_at: float
    keep: bool = False  # KEEP=1: the cluster stays after the run, even after a kill
    command: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> Record:
        data = json.loads(text)
        data["owners"] = tuple(Owner(**o) for o in data.get("owners", ()))
        return cls(**data)


def process_alive(owner: Owner) -> bool:
    return start_time(owner.pid) == owner.started


def is_live(record: Record, boot: str, alive=process_alive) -> bool:
    """A run is live while one of its processes still runs in this boot."""
    return record.boot == boot and any(alive(o) for o in record.owners)


class Busy(RuntimeError):
    """The cluster name belongs to a run that is still alive."""


def describe(record: Record) -> str:
    pids = ", ".join(str(o.pid) for o in record.owners)
    since = time.strftime("%H:%M:%S", time.localtime(record.started_at))
    return f"a live run since {since} (pid {pids}{': ' + record.command if record.command else ''})"


@contextmanager
def _locked():
    folder = runs_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield folder


def read_all() -> list[Record]:
    found = []
    folder = runs_dir()
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            found.append(Record.from_json(path.read_text()))
        except (OSError, ValueError, TypeError):
            path.unlink(missing_ok=True)  # a record cut short by a kill is no record
    return found


def claim(cluster: str, cni: str, keep: bool = False, command: str = "") -> Record:
    """Record this process as the owner of `cluster`; Busy when a live run owns it."""
    me = Owner(os.getpid(), start_time(os.getpid()) or 0)
    with _locked() as folder:
        path = folder / f"{cluster}.json"
        if path.exists():
            try:
                current = Record.from_json(path.read_text())
            except (ValueError, TypeError):
                current = None
            if current is not None and is_live(current, boot_id()):
                raise Busy(f"cluster {cluster} is in use by {describe(current)}; wait for it or pick another name with --cluster")
        record = Record(cluster=cluster, cni=cni, owners=(me,), boot=boot_id(), started_at=time.time(), keep=keep,
                        command=command)
        path.write_text(record.to_json())
    return record


def add_owner(record: Record, pid: int) -> Record:
    """Add the run's child (pytest, in its own session: it outlives a SIGKILLed parent)."""
    updated = replace(record, owners=(*record.owners, Owner(pid, start_time(pid) or 0)))
    with _locked() as folder:
        (folder / f"{record.cluster}.json").write_text(updated.to_json())
    return updated


def finish(record: Record) -> None:
    """The run is over: forget it, or remember that its cluster was kept on purpose (ours, not live)."""
    with _locked() as folder:
        path = folder / f"{record.cluster}.json"
        if record.keep:
            path.write_text(replace(record, owners=()).to_json())
        else:
            path.unlink(missing_ok=True)


def forget(cluster: str) -> None:
    with _locked() as folder:
        (folder / f"{cluster}.json").unlink(missing_ok=True)


# --------------------------------------------------------------------------- what is stale


@dataclass
class Leftovers:
    clusters: list[str] = field(default_factory=list)
    helpers: list[str] = field(default_factory=list)   # container names
    records: list[str] = field(default_factory=list)   # cluster names whose record goes
    live: list[str] = field(default_factory=list)      # left alone: a live run owns them

    def __bool__(self) -> bool:
        return bool(self.clusters or self.helpers or self.records)


def ours(name: str, records: dict[str, Record]) -> bool:
    return name.startswith(PREFIX) or name in records


def leftovers(records: list[Record], clusters: list[str], helpers: dict[str, str], boot: str,
              alive=process_alive, everything: bool = False) -> Leftovers:
    """What to remove, from the run records, the kind clusters and the helper containers
    ({container: the cluster its label names}). The next run (`everything=False`) removes only what
    a killed run left: clusters whose record shows dead processes and no KEEP, and helpers whose
    cluster is gone. `make clean` (`everything=True`) removes every cnimatrix cluster no live run
    owns, kept ones included. Live runs' clusters and helpers, and clusters that are not ours, stay."""
    by_name = {r.cluster: r for r in records}
    live = {r.cluster for r in records if is_live(r, boot, alive)}
    found = Leftovers(live=sorted(live & set(clusters)))
    for name in clusters:
        if name in live or not ours(name, by_name):
            continue
        record = by_name.get(name)
        if everything or (record is not None and not record.keep):
            found.clusters.append(name)
    staying = set(clusters) - set(found.clusters)
    found.helpers = sorted(c for c, owner in helpers.items() if owner not in staying and owner not in live)
    found.records = sorted(n for n, r in by_name.items()
                           if n not in live and (n in found.clusters or n not in clusters))
    return found


# --------------------------------------------------------------------------- the host


def kind_clusters(kind: str) -> list[str]:
    proc = subprocess.run([kind, "get", "clusters"], capture_output=True, text=True)
    return proc.stdout.split() if proc.returncode == 0 else []


def helper_containers() -> dict[str, str]:
    from cnimatrix.cluster.kind import HELPER_LABEL

    proc = subprocess.run(["docker", "ps", "-a", "--filter", f"label={HELPER_LABEL}",
                           "--format", f'{{{{.Names}}}} {{{{.Label "{HELPER_LABEL}"}}}}'], capture_output=True, text=True)
    pairs = (line.split() for line in proc.stdout.splitlines())
    return {p[0]: p[1] for p in pairs if len(p) == 2}


def remove(found: Leftovers, kind: str) -> str:
    """Remove the leftovers; returns one line saying what went (empty when nothing did)."""
    from cnimatrix.cluster import guard
    from cnimatrix.registry import local

    for name in found.clusters:
        subprocess.run([kind, "delete", "cluster", "--name", name], capture_output=True)
    if found.helpers:
        subprocess.run(["docker", "rm", "-f", *found.helpers], capture_output=True)
    for name in found.records:
        forget(name)
    registry_stopped = local.stop_if_unused("kind")   # first: the rule goes once nothing is on the network
    released = guard.release("kind")
    parts = []
    if found.clusters:
        parts.append(f"cluster{'s' if len(found.clusters) > 1 else ''} {', '.join(found.clusters)}")
    if found.helpers:
        parts.append(f"helper container{'s' if len(found.helpers) > 1 else ''} {', '.join(found.helpers)}")
    if released:
        parts.append("the kind network's firewall rule")
    if registry_stopped:
        parts.append(f"the local registry {local.NAME} (its images stay)")
    return "removed " + "; ".join(parts) if parts else ""
