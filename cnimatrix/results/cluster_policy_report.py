"""A run's ClusterNetworkPolicy results in network-policy-api's ConformanceReport shape (its
conformance/apis/v1alpha1 types: implementation, date, API version, one profile with statistics
and the failed and skipped tests), so they can be shared in that project's format.

The tests counted are cnimatrix's own cluster-wide cases (suites/netpol/test_cluster_netpol.py),
not the network-policy-api conformance suite: the report says so in `additionalInformation`.
A case the CNI declares it does not enforce counts as skipped, never as passed.

    python -m cnimatrix.results.cluster_policy_report reports/cilium/summary.json [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from cnimatrix import versions as V

FILE_NAME = "clusternetworkpolicy-report.yaml"
CASE_TEST = "test_cluster_policy_case["
PROFILE = "ClusterNetworkPolicy"
_PASSED, _FAILED = ("passed",), ("failed", "error")   # everything else (declared, skipped, not run) is skipped
_WHY_SKIPPED = {"not-enforced": "the CNI declares it does not enforce ClusterNetworkPolicy",
                "skipped": "declared unsupported or not applicable: see summary.json",
                "not-run": "not run: the run stopped first"}


def report(summary: Mapping[str, Any], module: str | None = None) -> dict[str, Any] | None:
    """The ConformanceReport for one run's summary.json, or None when it ran no cluster-wide case.
    `module` (e.g. github.com/cilium/cilium) names the implementation's project and URL."""
    cases = [t for t in summary.get("tests") or [] if CASE_TEST in t.get("id", "")]
    if not cases:
        return None
    passed = [t for t in cases if t.get("outcome") in _PASSED]
    failed = [t for t in cases if t.get("outcome") in _FAILED]
    skipped = [t for t in cases if t.get("outcome") not in _PASSED + _FAILED]
    result = "failure" if failed else "partial" if skipped else "success"
    cni = summary.get("cni") or {}
    module = module or cni.get("source", "").partition("@")[0] or None
    owner, project = _owner_project(module, cni.get("name", "unknown"))
    return {
        "apiVersion": "policy.networking.k8s.io/v1alpha1",
        "kind": "ConformanceReport",
        "date": summary.get("finished_at", ""),
        "implementation": {
            "organization": owner,
            "project": project,
            "url": f"https://{module}" if module else "",
            "version": cni.get("version", ""),
            "contact": [],
            "additionalInformation": (
                f"cnimatrix's own ClusterNetworkPolicy cases ({len(cases)}, suites/netpol/test_cluster_netpol.py at "
                f"commit {summary.get('cnimatrix_commit') or 'unknown'}), not the network-policy-api conformance suite; "
                f"cnimatrix CNI entry {cni.get('name', 'unknown')}, Kubernetes {summary.get('kubernetes_version', '?')}"),
        },
        "networkPolicyV2APIVersion": V.NETWORK_POLICY_API,
        "profiles": [{
            "name": PROFILE,
            "standard": {
                "result": result,
                "summary": _summary_line(passed, failed, skipped),
                "statistics": {"Failed": len(failed), "Passed": len(passed), "Skipped": len(skipped)},
                **({"skippedTests": [_short(t) for t in skipped]} if skipped else {}),
                **({"failedTests": [_short(t) for t in failed]} if failed else {}),
            },
        }],
    }


def _owner_project(module: str | None, fallback: str) -> tuple[str, str]:
    parts = (module or "").split("/")
    return (parts[1], parts[2]) if len(parts) >= 3 and parts[0] == "github.com" else (fallback, fallback)


def _short(test: Mapping[str, Any]) -> str:
    """A case's short name, as the upstream report lists tests: the text between the brackets."""
    return test["id"].split(CASE_TEST, 1)[1].rstrip("]")


def _summary_line(passed: list, failed: list, skipped: list) -> str:
    flaky = sum(1 for t in passed if t.get("flaky"))
    parts = [f"{len(passed)} passed" + (f" ({flaky} only after retries)" if flaky else "")]
    if failed:
        parts.append(f"{len(failed)} failed")
    by_outcome = Counter(t.get("outcome", "skipped") for t in skipped)
    parts += [f"{n} skipped ({_WHY_SKIPPED.get(outcome, outcome)})" for outcome, n in sorted(by_outcome.items())]
    return ", ".join(parts)


def write(summary: Mapping[str, Any], folder: Path, module: str | None = None) -> Path | None:
    """Write the report beside summary.json; None (and nothing written) without cluster-wide cases."""
    doc = report(summary, module)
    if doc is None:
        return None
    path = Path(folder) / FILE_NAME
    path.write_text(_yaml(doc))
    return path


def _yaml(doc: Mapping[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False, width=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnimatrix.results.cluster_policy_report",
                                     description="Write a run's ClusterNetworkPolicy results as a network-policy-api ConformanceReport.")
    parser.add_argument("summary", help="a run's summary.json")
    parser.add_argument("--out", help=f"where to write (default: {FILE_NAME} beside summary.json; - for stdout)")
    args = parser.parse_args(argv)
    try:
        summary = json.loads(Path(args.summary).read_text())
    except (OSError, ValueError) as exc:
        print(f"cluster_policy_report: cannot read {args.summary}: {exc}", file=sys.stderr)
        return 2
    doc = report(summary)
    if doc is None:
        print(f"cluster_policy_report: {args.summary} has no ClusterNetworkPolicy cases", file=sys.stderr)
        return 2
    text = _yaml(doc)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        out = Path(args.out) if args.out else Path(args.summary).parent / FILE_NAME
        out.write_text(text)
        print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
