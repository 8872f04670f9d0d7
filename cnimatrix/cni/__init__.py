"""CNI plugins as data: the catalog of cnis/*.yaml entries and what they declare."""

from cnimatrix.cni.catalog import *  # noqa: F401,F403 (the package is its module's public names)
from cnimatrix.cni.catalog import __all__  # noqa: F401
