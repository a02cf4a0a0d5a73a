"""``python -m explorer`` is ``gocore-tui``."""

from explorer.cli import main

raise SystemExit(main())
