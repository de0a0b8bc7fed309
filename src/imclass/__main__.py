"""`python -m imclass` is the `imclass` command."""

from imclass.cli import main

main()
