"""Reporter: what it prints, and that quiet means nothing on stderr."""

from __future__ import annotations

import io

import pytest

from imclass.progress import LiteralConsole, Reporter


def test_a_reporter_prints_warnings_and_lines_to_stderr(capsys):
    reporter = Reporter(live=False)
    reporter.warn("skipped a.png: truncated")
    reporter.line("3 classes")
    captured = capsys.readouterr()
    assert captured.err == "warning: skipped a.png: truncated\n3 classes\n"
    assert captured.out == "" and reporter.warnings == 1


def test_a_quiet_reporter_prints_nothing_but_still_counts_warnings(capsys):
    reporter = Reporter(quiet=True)
    reporter.warn("skipped a.png: truncated")
    reporter.warn("skipped b.png: truncated")
    reporter.line("3 classes")
    with reporter.task("predicting", total=2) as advance:
        advance(2, "done")
    assert capsys.readouterr() == ("", "")
    assert reporter.warnings == 2 and reporter.live is False


def test_a_bar_shows_the_aside_text_only_while_showing():
    reporter = Reporter(live=True)
    reporter.console = LiteralConsole(file=io.StringIO(), force_terminal=True, width=150)
    with reporter.showing(lambda: "cpu 180% mem 3.1G"), reporter.task("train", 2) as advance:
        advance(2, "loss 0.1")
    with reporter.task("validate", 1) as advance:
        advance(1)
    shown = reporter.console.file.getvalue()
    assert "cpu 180% mem 3.1G" in shown and "validate" in shown
    assert shown.count("cpu 180%") == shown[: shown.index("validate")].count("cpu 180%")
    assert reporter.aside is None


def test_a_noted_interrupt_is_raised_once_at_the_next_safe_point():
    """A Ctrl-C that Python swallowed (raised inside a weakref callback) is noted by the CLI's
    handler; the next training epoch or experiment point raises it, once."""
    from imclass.progress import forget_interrupt, note_interrupt, raise_if_interrupted

    raise_if_interrupted()  # nothing noted: nothing raised
    note_interrupt()
    try:
        with pytest.raises(KeyboardInterrupt):
            raise_if_interrupted()
        raise_if_interrupted()  # once
    finally:
        forget_interrupt()


def test_a_long_command_s_block_ends_a_ctrl_c_with_its_own_hint_even_one_swallowed_late():
    """A Ctrl-C noted (cli/group.py) but lost where Python swallows exceptions, after the last
    safe point inside the block, used to let compare, sweep and learning-curve finish and print
    a bare "interrupted"; the block's end is a safe point."""
    from imclass.errors import TrainingInterrupted
    from imclass.progress import (
        forget_interrupt,
        interrupt_ends_with,
        interrupt_pending,
        note_interrupt,
    )

    hint = "interrupted; run the same command again to resume"
    try:
        with pytest.raises(TrainingInterrupted, match=hint), interrupt_ends_with(lambda: hint):
            note_interrupt()  # swallowed: nothing raised inside
    finally:
        forget_interrupt()
    for raised in (KeyboardInterrupt(), TrainingInterrupted("the run's own message")):
        with pytest.raises(TrainingInterrupted, match=hint), interrupt_ends_with(lambda: hint):
            raise raised
    with interrupt_ends_with(lambda: hint):  # nothing noted: nothing raised
        pass
    assert not interrupt_pending()
