"""Incremental, logged build steps.

A step's cache key hashes its declared inputs (versions, recipe files). A step whose key matches
its stamp (files) or its image label (images) is skipped, so a warm rebuild only checks. Every step
writes its own log; a failing step names that log and leaves its outputs untagged, because images
are tagged only by the final `docker import`/`docker commit` of a successful step.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

STATE = Path(os.environ.get("CNIMATRIX_STATE", "/var/cache/cnimatrix"))
KEY_LABEL = "io.cnimatrix.build-key"


class StepFailed(RuntimeError):
    def __init__(self, step: str, log: Path, detail: str):
        super().__init__(f"step '{step}' failed: {detail} (log: {log})")
        self.step, self.log = step, log


@dataclass
class Context:
    """What a running step may use: its log, its output folder and a command runner."""

    step: str
    log: Path
    out: Path
    key: str

    def run(self, *cmd: str | Path, env: dict | None = None, cwd: Path | None = None,
            input: bytes | None = None, capture: bool = False) -> str:
        args = [str(c) for c in cmd]
        with self.log.open("ab") as log:
            log.write(f"\n$ {' '.join(args)}\n".encode())
            log.flush()
            proc = subprocess.run(
                args, cwd=cwd, input=input, env={**os.environ, **(env or {})},
                stdout=subprocess.PIPE if capture else log, stderr=log,
            )
        if proc.returncode != 0:
            raise StepFailed(self.step, self.log, f"`{' '.join(args)[:160]}` exited {proc.returncode}")
        return proc.stdout.decode() if capture else ""


@dataclass
class Step:
    name: str
    title: str
    inputs: dict
    build: Callable[[Context], None]
    images: tuple[str, ...] = ()      # tags this step creates (labelled with its key)
    files: tuple[str, ...] = ()       # paths under its output folder it must leave behind
    needs: tuple[str, ...] = ()
    sources: tuple[Path, ...] = ()    # project files whose content is part of the key
    key: str = field(default="", init=False)


def _digest_sources(paths: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for root in paths:
        for path in sorted([root] if root.is_file() else (p for p in root.rglob("*") if p.is_file())):
            h.update(str(path.name).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def compute_keys(steps: list[Step]) -> None:
    """Key = hash(inputs, the build function's code, sources, keys of needed steps), so a change
    to any of them rebuilds the step and everything downstream."""
    by_name = {s.name: s for s in steps}
    for step in steps:  # steps are listed in dependency order
        payload = {
            "inputs": step.inputs,
            "recipe": inspect.getsource(step.build),
            "sources": _digest_sources(step.sources),
            "needs": {n: by_name[n].key for n in step.needs},
        }
        step.key = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def output_dir(name: str) -> Path:
    return STATE / "build" / name


def image_key(tag: str) -> str | None:
    proc = subprocess.run(
        ["docker", "image", "inspect", "--format", f'{{{{index .Config.Labels "{KEY_LABEL}"}}}}', tag],
        capture_output=True, text=True,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def is_fresh(step: Step) -> bool:
    stamp = output_dir(step.name) / ".stamp"
    if step.files or not step.images:
        if not stamp.exists() or stamp.read_text().strip() != step.key:
            return False
        if not all((output_dir(step.name) / f).exists() for f in step.files):
            return False
    return all(image_key(tag) == step.key for tag in step.images)


def _heartbeat(step: Step, log: Path, started: float, done: threading.Event) -> None:
    while not done.wait(30):
        last = ""
        try:
            lines = log.read_text(errors="replace").strip().splitlines()
            last = next((l for l in reversed(lines) if l.strip()), "")[:90]
        except OSError:
            pass
        print(f"[images]     ... {step.name} still running ({time.monotonic() - started:.0f}s) {last}", flush=True)


def run_steps(steps: list[Step], only: set[str] | None = None) -> dict[str, float]:
    """Run every stale step in order; return the seconds each executed step took."""
    compute_keys(steps)
    logs = STATE / "logs" / "images"
    logs.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    total = len(steps)
    for index, step in enumerate(steps, 1):
        if only and step.name not in only:
            continue
        label = f"[images] ({index}/{total}) {step.title}"
        if is_fresh(step):
            print(f"{label}: up to date", flush=True)
            continue
        log = logs / f"{step.name}.log"
        log.write_text(f"# {step.title}\n# key {step.key}\n")
        out = output_dir(step.name)
        out.mkdir(parents=True, exist_ok=True)
        (out / ".stamp").unlink(missing_ok=True)
        print(f"{label}: building (log: {log})", flush=True)
        started = time.monotonic()
        done = threading.Event()
        threading.Thread(target=_heartbeat, args=(step, log, started, done), daemon=True).start()
        try:
            step.build(Context(step=step.name, log=log, out=out, key=step.key))
        except StepFailed:
            raise
        except Exception as exc:  # a recipe bug still names its step and log
            with log.open("a") as handle:
                handle.write(f"\n{type(exc).__name__}: {exc}\n")
            raise StepFailed(step.name, log, f"{type(exc).__name__}: {exc}") from exc
        finally:
            done.set()
        missing = [f for f in step.files if not (out / f).exists()]
        if missing:
            raise StepFailed(step.name, log, f"did not produce {', '.join(missing)}")
        for tag in step.images:
            if image_key(tag) != step.key:
                raise StepFailed(step.name, log, f"image {tag} was not tagged with this build")
        (out / ".stamp").write_text(step.key + "\n")
        timings[step.name] = time.monotonic() - started
        print(f"{label}: done in {timings[step.name]:.0f}s", flush=True)
    return timings


def fail(message: str) -> int:
    print(f"[images] FAILED: {message}", file=sys.stderr)
    return 1
