"""``python -m cnimatrix.doctor``: the host readiness report (see cnimatrix.doctor.report)."""
import sys

from cnimatrix.doctor.report import main

if __name__ == "__main__":
    sys.exit(main())
