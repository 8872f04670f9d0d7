"""Per-CNI run results (summary.json) that the comparison report merges."""

from cnimatrix.results.summary import *  # noqa: F401,F403 (the package is its module's public names)
from cnimatrix.results.summary import __all__  # noqa: F401
