"""The ``hyperdial`` command: list, inspect, export, copy and run studies from a shell.

Needs the ``cli`` extra (click and rich). The commands live in `hyperdial._cli_app`; this
module is the console-script entry point and works without the extra, to say what is missing.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

MISSING_EXTRA = "the hyperdial command needs the cli extra: pip install 'hyperdial[cli]'"


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``hyperdial`` command with ``argv`` (default: ``sys.argv[1:]``)."""
    try:
        from hyperdial._cli_app import app
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] not in ("click", "rich"):
            raise
        print(MISSING_EXTRA, file=sys.stderr)
        raise SystemExit(1) from None
    app.main(args=None if argv is None else list(argv), prog_name="hyperdial")


if __name__ == "__main__":
    main()
