import sys

from cnimatrix.run.cli import main

sys.exit(main())
