"""The `imclass` command group: every error a user can cause becomes one line and an exit code."""

from __future__ import annotations

import functools
import os
import signal
import sys
import warnings

import click

from imclass.errors import ImclassError
from imclass.progress import forget_interrupt, interrupt_pending, note_interrupt, printable


class ImclassGroup(click.Group):
    """Turns every ImclassError, and an OSError on a user's path, into one line on stderr and its
    exit code; Ctrl-C/kill into "interrupted" and 130; a Python warning into one line. Never a
    traceback."""

    def invoke(self, ctx):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # quiet, if TensorFlow is installed
        # while a command runs: a program (or test) that calls the CLI gets its own back after
        forget_interrupt()
        terminate = signal.signal(signal.SIGTERM, _raise_interrupt)
        ctrl_c = _on_ctrl_c()
        unraisable = sys.unraisablehook
        sys.unraisablehook = functools.partial(_swallowed_interrupt, unraisable)
        errors = _print_names_safely()
        shown = warnings.showwarning
        warnings.showwarning = _warning_line  # only while a command runs: library users keep theirs
        try:
            result = super().invoke(ctx)
            if interrupt_pending():  # a Ctrl-C that Python swallowed (progress.py says where)
                raise KeyboardInterrupt
            return result
        except ImclassError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(error.exit_code)
        except OSError as error:
            click.echo(f"error: {_os_error_line(error)}", err=True)
            ctx.exit(1)
        except UnicodeError as error:
            click.echo(f"error: {_unicode_error_line(error)}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C cannot interrupt this
            click.echo("interrupted", err=True)
            ctx.exit(130)
        finally:
            forget_interrupt()
            sys.unraisablehook = unraisable
            warnings.showwarning = shown
            signal.signal(signal.SIGTERM, terminate)
            if ctrl_c is not None:
                signal.signal(signal.SIGINT, ctrl_c)
            _restore_errors(errors)


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    """`warning: TEXT` on one line, instead of Python's file, line number and source line."""
    click.echo(f"warning: {' '.join(str(message).splitlines())}", err=True)


def _raise_interrupt(signum, frame):
    note_interrupt()  # kept for the safe points, should this exception be swallowed
    raise KeyboardInterrupt


def _swallowed_interrupt(hook, unraisable) -> None:
    """Python's "Exception ignored in ..." report, except for a Ctrl-C it swallowed: that one
    is noted already, and the next safe point raises it again (progress.py)."""
    if not issubclass(unraisable.exc_type, KeyboardInterrupt):
        hook(unraisable)


def _on_ctrl_c():
    """Ctrl-C noted as well as raised, where Python's own handler is in place (not where a
    caller ignores SIGINT); returns the handler to restore, or None."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return None
    return signal.signal(signal.SIGINT, _raise_interrupt)


def _print_names_safely() -> dict:
    """A file name that is not UTF-8 (surrogate-escaped by Python) prints as backslash escapes
    instead of stopping the command with UnicodeEncodeError. Returns what to restore."""
    before = {}
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            before[stream] = stream.errors
            stream.reconfigure(errors="backslashreplace")
    return before


def _restore_errors(before: dict) -> None:
    for stream, errors in before.items():
        stream.reconfigure(errors=errors)


def _os_error_line(error: OSError) -> str:
    """'PATH: problem' (or 'PATH -> OTHER: problem' for a rename or link)."""
    reason = (error.strerror or str(error)).lower()
    if error.filename is None:
        return reason
    paths = os.fsdecode(error.filename)
    if error.filename2 is not None:
        paths += f" -> {os.fsdecode(error.filename2)}"
    return f"{paths}: {reason}"


def _unicode_error_line(error: UnicodeError) -> str:
    """A name (or text) that is not UTF-8, shown with backslash escapes, where it went wrong."""
    if isinstance(error, UnicodeEncodeError | UnicodeDecodeError):
        text = error.object[max(0, error.start - 60) : error.end + 60]
        if isinstance(text, bytes):
            text = text.decode("utf-8", "backslashreplace")
        return f"{printable(text)}: not UTF-8 ({error.reason}); rename it or convert it to UTF-8"
    return f"not UTF-8: {error}"
