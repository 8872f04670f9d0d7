import sys

from cnimatrix.cli import main

sys.exit(main())
