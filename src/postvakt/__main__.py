import sys

from postvakt.cli import main

sys.exit(main())
