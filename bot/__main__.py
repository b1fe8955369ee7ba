"""`python -m bot` is the same as the `discharge-bot` console script."""

from bot.entrypoints.cli import main

raise SystemExit(main())
