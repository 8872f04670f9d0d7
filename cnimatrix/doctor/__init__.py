"""Host readiness: can this machine run kind clusters, and which CNIs can run on it.

Run ``python -m cnimatrix.doctor`` (``make doctor``) for a one-screen summary, or ``--json`` for
the same data as JSON. It runs on the system python3 with the standard library only, to explain a
host that ``make setup`` cannot fix; only the CNI catalog needs PyYAML, and without it the screen
says so.

- ``host``: the Docker engine, capabilities, cgroups, disk, memory and CPU;
- ``kernel``: the kernel's configuration (``kernel_features()`` is the gate capability checks use);
- ``fit``: which catalog CNIs this host can run (``cni_verdicts``);
- ``report``: ``collect()``, the screen and the command line.
"""
from cnimatrix.doctor.fit import CniVerdict, catalog_verdicts, cni_verdict, cni_verdicts
from cnimatrix.doctor.kernel import KERNEL_FEATURES, KernelStatus, kernel_features
from cnimatrix.doctor.report import Line, Report, build_lines, collect, format_lines, main

__all__ = [
    "KERNEL_FEATURES",
    "CniVerdict",
    "KernelStatus",
    "Line",
    "Report",
    "build_lines",
    "catalog_verdicts",
    "cni_verdict",
    "cni_verdicts",
    "collect",
    "format_lines",
    "kernel_features",
    "main",
]
