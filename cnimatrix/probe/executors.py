"""Where a probe runs: a pod's container (API server exec) or a Docker container on the kind
network standing in for a client outside the cluster. Probes and timelines take any Executor, so
the same probe code runs from either side."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import shlex
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

from kubernetes import client
from kubernetes.stream import stream
from websocket import WebSocketException


class Executor(Protocol):
    name: str

    def sh(self, script: str, timeout_s: float, on_line: Callable[[str], None] | None = None) -> str: ...

    def ask(self, server: str, request: str, timeout_s: float) -> str: ...


END = "@@END"   # a server script's answer to one request ends with this line


def one_shot(server: str, request: str) -> str:
    """A server script (a loop answering one request per stdin line) run for one request."""
    return f"printf '%s\\n' {shlex.quote(request)} | {{\n{server}\n}}"


def ask_once(executor: Executor, server: str, request: str, timeout_s: float) -> str:
    """`server`'s answer to one request from a new exec of its own (no kept session to wait on)."""
    answer, _, _ = executor.sh(one_shot(server, request), timeout_s=timeout_s).partition(END + "\n")
    return answer


@dataclass
class PodExecutor:
    """Runs shell scripts in a pod's container through the API server's exec endpoint."""

    api: client.ApiClient
    namespace: str
    pod: str
    container: str | None = None
    sessions: dict[str, Session] = field(default_factory=dict, repr=False, compare=False)
    opened: int = 0   # server sessions opened (a second one for a server: the first had closed)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

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

    def ask(self, server: str, request: str, timeout_s: float) -> str:
        """`server`'s answer to one request line, from an exec of it kept open across requests: an
        exec costs the API server, kubelet and runtime far more CPU than the probes it carries, and
        a probe round repeated back to back would pay it every round. One request at a time."""
        with self.lock:
            session = self.sessions.get(server)
            if session is not None and session.is_open():
                try:
                    return session.ask(request, timeout_s)
                except SessionClosed:   # its process went away since the last request (a restarted pod):
                    session.close()     # a new exec, as every request had before sessions
            session = self.sessions[server] = Session(self._open(server))
            self.opened += 1
            return session.ask(request, timeout_s)

    def _open(self, server: str):
        kwargs = {"container": self.container} if self.container else {}
        return stream(client.CoreV1Api(self.api).connect_get_namespaced_pod_exec, self.pod, self.namespace,
                      command=["sh", "-c", server], stderr=False, stdin=True, stdout=True, tty=False,
                      _preload_content=False, **kwargs)

    def close(self) -> None:
        with self.lock:
            for session in self.sessions.values():
                session.close()
            self.sessions.clear()


class SessionClosed(ConnectionError):
    """The exec session ended before it answered."""


class Session:
    """A running server script: write a request line, read until the END line."""

    def __init__(self, ws):
        self.ws, self.pending = ws, ""

    def is_open(self) -> bool:
        return self.ws.is_open()

    def ask(self, request: str, timeout_s: float) -> str:
        if "\n" in request:
            raise ValueError("a request is one line")
        try:
            self.ws.write_stdin(request + "\n")
        except (OSError, WebSocketException) as exc:
            raise SessionClosed(f"the exec session is gone: {exc}") from exc
        deadline = time.monotonic() + timeout_s
        marker = END + "\n"
        while marker not in self.pending:
            left = deadline - time.monotonic()
            if not self.ws.is_open():
                self.close()
                raise SessionClosed("the exec session closed before its answer")
            if left <= 0:
                self.close()   # a half-read answer would be taken for the next request's
                raise TimeoutError(f"no {END} within {timeout_s} s")
            try:
                self.pending += self.ws.read_stdout(timeout=min(left, 1.0))
            except (OSError, WebSocketException) as exc:
                self.close()
                raise SessionClosed(f"the exec session broke: {exc}") from exc
        answer, _, self.pending = self.pending.partition(marker)
        return answer

    def close(self) -> None:
        self.ws.close()


@dataclass
class ContainerExecutor:
    """Runs shell scripts in a Docker container: a client outside the cluster on the kind network."""

    container: str

    @property
    def name(self) -> str:
        return f"container/{self.container}"

    def ask(self, server: str, request: str, timeout_s: float) -> str:
        """One request, one `docker exec` (cheap here: no API server or kubelet in the way)."""
        return ask_once(self, server, request, timeout_s)

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


def each(run, items: list) -> list:
    """run(item) for every item at once, results in order. Each item must exec through its own
    executor (one per pod, as Namespace.executor gives): an executor is never shared between threads."""
    with ThreadPoolExecutor(max_workers=max(len(items), 1)) as pool:
        return list(pool.map(run, items))
