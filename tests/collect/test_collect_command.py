"""`imclass collect` end to end: the dry run, the final table, and a run killed half-way
(SIGKILL) then run again equals an uninterrupted run, without asking again for a kept image."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from imclass.cli import main
from tests.helpers import invoke

SRC = Path(__file__).resolve().parents[2] / "src"
QUERIES = {"striped blouse": 0, "dotted blouse": 1, "striped hoodie": 2}


@pytest.fixture
def apis(fake_apis, image_bytes):
    """Three queries of four distinct images each, every image a little slow to serve."""
    for query, start in QUERIES.items():
        paths = [f"/img/{start * 4 + i}.jpg" for i in range(4)]
        fake_apis.results[query] = paths
        for seed, path in enumerate(paths, start=start * 4):
            fake_apis.serve(path, image_bytes(seed), delay=0.15)
    return fake_apis


def arguments(out: Path, base: str) -> list[str]:
    return [
        "collect", "--items", "blouse,hoodie", "--attributes", "striped,dotted",
        "--per-query", "5", "--out", str(out), "--endpoint", base, "--allow-private-urls",
    ]  # fmt: skip


def test_dry_run_sends_nothing(apis, tmp_path):
    result = CliRunner().invoke(main, [*arguments(tmp_path / "out", apis.base), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        f"'striped blouse' -> blouse/  GET {apis.base}/v1/images/?q=striped+blouse&page=1"
        "&page_size=5&mature=false"
    )
    assert "4 queries, up to 20 images; nothing sent" in result.output
    assert apis.requests == [] and not (tmp_path / "out").exists()


def test_the_command_prints_the_final_table(apis, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, arguments(out, apis.base))
    assert result.exit_code == 0, result.output
    for line in ("asked", "20"), ("returned", "12"), ("kept: blouse", "8"), ("kept: hoodie", "4"):
        assert any(
            line[0] in row and row.rstrip(" │").endswith(line[1])
            for row in result.output.splitlines()
        )
    assert "kept 12 images" in result.output
    assert len(list(out.rglob("*.jpg"))) == 12


def run_command(out: Path, base: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(SRC), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "imclass", *arguments(out, base)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def rows(out: Path) -> list[dict]:
    path = out / "manifest.csv"
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_killed_half_way_then_rerun_equals_an_uninterrupted_run(apis, tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert run_command(whole, apis.base).wait(timeout=120) == 0

    process = run_command(killed, apis.base)
    deadline = time.monotonic() + 60
    while len(rows(killed)) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    kept_before = {r["url"] for r in rows(killed) if r["status"] == "kept"}
    assert 5 <= len(kept_before) < 12
    apis.requests.clear()

    assert run_command(killed, apis.base).wait(timeout=120) == 0
    assert (killed / "manifest.csv").read_text() == (whole / "manifest.csv").read_text()
    assert (killed / "ATTRIBUTION.md").read_text() == (whole / "ATTRIBUTION.md").read_text()
    files = sorted(p.relative_to(killed).as_posix() for p in killed.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(whole).as_posix() for p in whole.rglob("*") if p.is_file())
    asked_again = {apis.base + path for path in apis.requests}
    assert not asked_again & kept_before


def test_dry_run_shows_the_licence_filter(apis, tmp_path):
    result = invoke(*arguments(tmp_path / "out", apis.base), "--dry-run", "--license", "by,cc0")
    assert result.exit_code == 0, result.output
    assert "&license=by%2Ccc0" in result.stdout.splitlines()[0]


def test_the_command_offers_every_provider():
    from imclass.cli.collect import PROVIDERS as OFFERED
    from imclass.collect.providers import PROVIDERS

    assert tuple(PROVIDERS) == OFFERED
