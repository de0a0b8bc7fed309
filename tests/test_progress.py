"""Reporter: what it prints, and that quiet means nothing on stderr."""

from __future__ import annotations

from imclass.progress import Reporter


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
