"""The run's shared state (the CNI, the cluster, run-level timings and metrics), kept in pytest's
config stash. Suites reach it through `run_state` and `run_metrics`, never through the stash key."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cnimatrix import hostload
from cnimatrix import versions as V
from cnimatrix.cluster.footprint import Footprint
from cnimatrix.cni.shapes import Resolved, Shape
from cnimatrix.results import current_commit, rfc3339
from cnimatrix.testkit.timeline import Recorder


@dataclass
class RunState:
    cni: object = None
    shape: Resolved | None = None   # the shape the run records (set with the CNI)
    started: float = field(default_factory=time.monotonic)
    started_at: str = field(default_factory=rfc3339)
    commit: str = field(default_factory=current_commit)  # the code that ran, even if the checkout moves meanwhile
    timings: dict = field(default_factory=dict)
    results: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    cluster: object = None
    kubernetes_version: str = "unknown"
    node_image: str = V.NODE_IMAGE
    offline: bool = False
    pull: object = None   # registry.pull_path.PullPath: how images not in the node image reach the nodes
    images_since: str = ""   # when this run's pulls began (RFC 3339), for reading the registry's log
    diagnostics: str | None = None
    run_status: str = "completed"
    run_reason: str = ""
    items: dict = field(default_factory=dict)   # nodeid -> (suite, title) of every collected scenario
    load: hostload.Sampler | None = None
    footprint: Footprint | None = None          # the kind cluster's CPU and memory (metrics.host.cluster)
    current_suite: str = ""                     # the suite whose test is being set up
    suite_namespaces: dict = field(default_factory=dict)   # suite -> the namespaces its fixtures made
    timeline: Recorder = field(default_factory=Recorder)   # every report's duration, for metrics.timeline
    background: list = field(default_factory=list)         # work beside the tests (testkit.background), for metrics.timeline


state_key = pytest.StashKey[RunState]()


def _config(holder) -> pytest.Config:
    return getattr(holder, "config", holder)


def run_state(holder) -> RunState:
    """The run's state, from a pytest request, item, session or config."""
    return _config(holder).stash[state_key]


def run_metrics(holder, suite: str) -> dict:
    """The run-level metrics block of one suite in summary.json (`metrics.<suite>`), made on first use."""
    return run_state(holder).metrics.setdefault(suite, {})


def asked_shape(holder) -> Shape:
    """The shape the run was asked for (--ip-family, --proxy-mode)."""
    config = _config(holder)
    return Shape(config.getoption("--ip-family"), config.getoption("--proxy-mode"))


def results_dir(holder) -> Path:
    """Where this run's summary.json, evidence and Allure results go (default reports/<cni>, or
    reports/<cni>-<shape> for another shape than the default)."""
    config = _config(holder)
    explicit = config.getoption("--results-dir")
    default = Path(config.rootpath) / "reports" / asked_shape(config).folder(config.getoption("--cni"))
    return Path(explicit) if explicit else default
