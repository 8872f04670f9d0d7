"""Running a probe program with a perl function replaced: a module put on PERL5OPT stands for what
a test cannot cause on loopback (the scheduler pausing the prober, socket-LB refusing a connect)."""
from __future__ import annotations

import subprocess
from pathlib import Path


def run_with(script: str, folder: Path, module: str, body: str) -> str:
    """`script`'s output, run by sh with the perl package `module` (whose text is `body`) loaded
    into every perl it starts."""
    (folder / f"{module}.pm").write_text(f"package {module};\n{body}\n1;\n")
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30,
                          env={"PATH": "/usr/bin:/bin", "PERL5OPT": f"-I{folder} -M{module}"}).stdout
