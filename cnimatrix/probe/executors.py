"""Where a probe runs: a pod's container (API server exec) or a Docker container on the kind
network standing in for a client outside the cluster. Probes and timelines take any Executor, so
the same probe code runs from either side."""
from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Callable, Protocol

from kubernetes import client
from kubernetes.stream import stream


class Executor(Protocol):
    name: str

    def sh(self, script: str, timeout_s: float, on_line: Callable[[str], None] | None = None) -> str: ...


@dataclass
class PodExecutor:
    """Runs shell scripts in a pod's container through the API server's exec endpoint."""

    api: client.ApiClient
    namespace: str
    pod: str
    container: str | None = None

    @property
    def name(self) -> str:
        return f"pod/{self.pod}"

    def sh(self, script: str, timeout_s: float, on_line: Callable[[str], None] | None = None) -> str:
        """The script's output; with `on_line`, each stdout line is also handed over as it arrives
        (a long-running probe tells the caller it has started)."""
        kwargs = {"container": self.container} if self.container else {}
        if on_line is not None:
            kwargs["_preload_content"] = False
        result = stream(
            client.CoreV1Api(self.api).connect_get_namespaced_pod_exec,
            self.pod, self.namespace, command=["sh", "-c", script],
            stderr=on_line is None, stdin=False, stdout=True, tty=False, _request_timeout=timeout_s, **kwargs,
        )
        return result if on_line is None else _follow(result, timeout_s, on_line)


@dataclass
class ContainerExecutor:
    """Runs shell scripts in a Docker container: a client outside the cluster on the kind network."""

    container: str

    @property
    def name(self) -> str:
        return f"container/{self.container}"

    def sh(self, script: str, timeout_s: float, on_line: Callable[[str], None] | None = None) -> str:
        if on_line is None:
            proc = subprocess.run(["docker", "exec", self.container, "sh", "-c", script],
                                  capture_output=True, text=True, timeout=timeout_s)
            return proc.stdout
        proc = subprocess.Popen(["docker", "exec", self.container, "sh", "-c", script],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        timer = threading.Timer(timeout_s, proc.kill)
        timer.start()
        lines = []
        try:
            for line in proc.stdout:
                lines.append(line)
                on_line(line.rstrip("\n"))
        finally:
            timer.cancel()
            proc.wait()
        return "".join(lines)


def _follow(ws, timeout_s: float, on_line: Callable[[str], None]) -> str:
    """Read a running exec's stdout until it exits (or `timeout_s`), line by line."""
    deadline = time.monotonic() + timeout_s
    chunks, pending = [], ""

    def take() -> None:
        nonlocal pending
        chunk = ws.read_stdout(timeout=0) if ws.peek_stdout(timeout=0) else ""
        chunks.append(chunk)
        *lines, pending = (pending + chunk).split("\n")
        for line in lines:
            on_line(line)

    try:
        while ws.is_open() and time.monotonic() < deadline:
            ws.update(timeout=0.2)
            take()
        take()
    finally:
        ws.close()
    if pending:
        on_line(pending)
    return "".join(chunks)
