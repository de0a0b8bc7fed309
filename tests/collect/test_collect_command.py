"""`imclass collect` end to end: the dry run, the final table, a run killed half-way (SIGKILL)
then run again equals an uninterrupted run, without asking again for a kept image; keys
(missing: one line; present: sent, and written nowhere) and filters."""

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from imclass.cli import main
from imclass.collect.manifest import Row, read_manifest
from imclass.errors import DataError
from tests.helpers import invoke, one_error_line

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


def rows(out: Path) -> list[Row]:
    """What a run has recorded so far: the manifest and its journal."""
    try:
        return list(read_manifest(out).values())
    except (OSError, DataError):  # a line being written
        return []


def test_killed_half_way_then_rerun_equals_an_uninterrupted_run(apis, tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert run_command(whole, apis.base).wait(timeout=120) == 0

    process = run_command(killed, apis.base)
    deadline = time.monotonic() + 60
    while len(rows(killed)) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    kept_before = {r.url for r in rows(killed) if r.status == "kept"}
    assert 5 <= len(kept_before) < 12
    apis.requests.clear()

    assert run_command(killed, apis.base).wait(timeout=120) == 0
    assert (killed / "manifest.csv").read_text() == (whole / "manifest.csv").read_text()
    assert (killed / "ATTRIBUTION.md").read_text() == (whole / "ATTRIBUTION.md").read_text()
    files = sorted(p.relative_to(killed).as_posix() for p in killed.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(whole).as_posix() for p in whole.rglob("*") if p.is_file())
    asked_again = {apis.base + path for path in apis.requests}
    assert not asked_again & kept_before


def keyed(provider: str, out: Path, base: str) -> list[str]:
    return [*arguments(out, base), "--provider", provider]


@pytest.mark.parametrize("provider", ["brave", "flickr", "bing"])
def test_a_missing_key_is_one_line_before_any_request(apis, tmp_path, provider):
    result = invoke(*keyed(provider, tmp_path / "out", apis.base))
    line = one_error_line(result)
    variable = {"brave": "BRAVE_API_KEY", "flickr": "FLICKR_API_KEY", "bing": "BING_SEARCH_KEY"}
    assert f"{provider} needs a key: set {variable[provider]}" in line
    assert f"[{provider}] key" in line and "keys.toml" in line
    assert apis.requests == [] and not (tmp_path / "out").exists()


@pytest.mark.parametrize("provider", ["brave", "flickr", "bing"])
def test_the_key_is_sent_and_written_nowhere(
    apis, tmp_path, monkeypatch, no_keys, caplog, provider
):
    """The key from the environment (flickr: from the keys file) reaches the API, and no file
    of OUT, no line of the output or of any log (httpx's included) and no dry-run line holds
    it."""
    caplog.set_level(logging.DEBUG)
    key = apis.keys[provider]
    if provider == "flickr":
        no_keys.write_text(f'[flickr]\nkey = "{key}"\n')
    else:
        monkeypatch.setenv({"brave": "BRAVE_API_KEY", "bing": "BING_SEARCH_KEY"}[provider], key)
    out = tmp_path / "out"
    dry = invoke(*keyed(provider, out, apis.base), "--dry-run")
    result = invoke(*keyed(provider, out, apis.base))
    assert result.exit_code == 0, result.output
    assert "kept 12 images" in result.stdout
    searches = [asked for asked in apis.log if "search" in asked.path or "rest" in asked.path]
    assert len(searches) == 4 and all(
        key in (*a.query.values(), *a.headers.values()) for a in searches
    )
    assert "HTTP Request: " in caplog.text  # httpx logged every request, with its URL
    for text in (dry.stdout, dry.stderr, result.stdout, result.stderr, caplog.text):
        assert key not in text
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"manifest.csv", "ATTRIBUTION.md"}
    assert not [p for p in files if key.encode() in p.read_bytes()]


def test_a_licence_filter_brave_cannot_apply_is_refused(apis, tmp_path):
    result = invoke(*keyed("brave", tmp_path / "out", apis.base), "--license", "cc0")
    assert "--license cannot be used with brave" in one_error_line(result)


def test_dry_run_shows_the_licence_filter(apis, tmp_path):
    result = invoke(*arguments(tmp_path / "out", apis.base), "--dry-run", "--license", "by,cc0")
    assert result.exit_code == 0, result.output
    assert "&license=by%2Ccc0" in result.stdout.splitlines()[0]


def test_the_command_offers_every_provider():
    from imclass.cli.collect import PROVIDERS as OFFERED
    from imclass.collect.providers import PROVIDERS

    assert tuple(PROVIDERS) == OFFERED


def test_a_keys_file_others_can_read_draws_a_warning(apis, tmp_path, no_keys):
    """As ssh warns of a private key others can read; the key itself is never printed."""
    key = apis.keys["flickr"]
    no_keys.write_text(f'[flickr]\nkey = "{key}"\n')
    no_keys.chmod(0o644)
    loose = invoke(*keyed("flickr", tmp_path / "out", apis.base), "--dry-run")
    assert loose.exit_code == 0, loose.output
    assert f"{no_keys} holds API keys and other users can read it (mode 644)" in loose.stderr
    assert f"chmod 600 {no_keys}" in loose.stderr and key not in loose.stderr
    no_keys.chmod(0o600)
    tight = invoke(*keyed("flickr", tmp_path / "out", apis.base), "--dry-run")
    assert tight.exit_code == 0 and "other users can read" not in tight.stderr
