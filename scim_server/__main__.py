"""``python -m scim_server`` is the ``scim-server`` command."""

import sys

from scim_server.cli import main

sys.exit(main())
