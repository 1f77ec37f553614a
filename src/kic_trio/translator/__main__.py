"""``python -m kic_trio.translator -f manifests.yaml``."""

import sys

from . import cli_main

sys.exit(cli_main())
