"""The `imclass` command's entry point (and `python -m imclass`): nothing heavy imported yet."""

import sys


def run() -> None:
    """Load the CLI and run it. Loading takes about half a second (click, rich, torch's config
    types); a Ctrl-C then, before the CLI handles Ctrl-C itself, is one line and exit 130 too."""
    try:
        from imclass.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    main()


if __name__ == "__main__":
    run()
