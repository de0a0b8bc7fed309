"""The command line against hostile folders and paths: outputs never land on inputs, names print
as they are, file-system errors and Ctrl-C are one line, files get the user's umask. Most run in
this process; real processes where only one shows it: another user, the umask, bytes that are
not UTF-8 on a real stdout, signals."""

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image
from tests.helpers import (
    as_a_user,
    colour_image,
    crashed,
    invoke,
    make_image_folder,
    one_error_line,
    run_cli,
    scene,
)


def checksums(root: Path) -> dict:
    return {
        p.relative_to(root): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def data(tmp_path) -> Path:
    return make_image_folder(tmp_path / "data", ("red", "blue"), per_class=4)


@pytest.mark.parametrize(
    "command",
    [
        ["split", "{data}", "--out", "{data}/red/red_1.png"],
        ["split", "{data}", "--out", "{data}/split.csv"],
        ["augment-preview", "{data}", "--out", "{data}/blue/blue_0.png"],
        ["info", "{data}", "--report", "{data}/red/red_2.png"],
        ["verify", "{data}", "--quarantine", "{data}/bad"],
        ["dedup", "{data}", "--action", "clean", "--to", "{data}/red/clean"],
        ["downsize", "{data}", "{data}/small"],
        ["convert", "{data}", "--to", "csv", "--out", "{data}/../data/csv"],
        ["evaluate", "{data}/../run", "{data}", "--out", "{data}/evaluation"],
    ],
)
def test_an_output_onto_or_inside_the_data_is_refused_before_any_work(data, command):
    before = checksums(data)
    result = invoke(*[part.format(data=data) for part in command])
    assert "would write onto or inside the input" in one_error_line(result)
    assert checksums(data) == before


def test_an_output_through_a_link_into_the_data_is_refused(data, tmp_path):
    (tmp_path / "link").symlink_to(data / "red")
    result = invoke("split", data, "--out", tmp_path / "link" / "split.csv")
    assert "would write onto or inside the input" in one_error_line(result)
    assert not (data / "red" / "split.csv").exists()


def test_predict_never_writes_over_the_image_it_reads(tmp_path):
    image = tmp_path / "cat.png"
    scene(1).save(image)
    before = image.read_bytes()
    result = invoke("predict", "--imagenet", image, "--out", image)
    assert "would write onto or inside the input" in one_error_line(result)
    assert image.read_bytes() == before


def test_an_existing_output_file_needs_overwrite(data, tmp_path):
    out = tmp_path / "split.csv"
    assert invoke("split", data, "--out", out).exit_code == 0
    first = out.read_text()
    out.write_text("mine\n")
    refused = invoke("split", data, "--out", out)
    assert "exists; pass --overwrite to replace it" in one_error_line(refused)
    assert out.read_text() == "mine\n"
    replaced = invoke("split", data, "--out", out, "--overwrite")
    assert replaced.exit_code == 0, replaced.stderr
    assert out.read_text() == first


def test_train_never_replaces_a_run_directory_silently(data, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.json").write_text("{}")
    result = invoke("train", data, "--out", run, "--epochs", "0")
    line = one_error_line(result)
    assert f"{run}: not empty" in line and f"imclass train --resume {run}" in line
    assert [p.name for p in run.iterdir()] == ["model.json"]


def test_evaluate_keeps_a_run_directorys_validation_figures(data, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text('{"accuracy": 0.9}')
    result = invoke("evaluate", run, data)
    line = one_error_line(result)
    assert f"{run}: holds metrics.json already" in line and "--overwrite" in line
    assert (run / "metrics.json").read_text() == '{"accuracy": 0.9}'


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["split", "{data}", "--out", "{tmp}"], "is a folder; give a file name"),
        (["split", "{data}", "--out", "{tmp}/note.txt/split.csv"], "note.txt is a file"),
        (["downsize", "{data}", "{tmp}/note.txt"], "is a file; give a folder"),
        (["train", "{data}", "--out", "{tmp}/note.txt"], "is a file; give a folder"),
    ],
)
def test_an_output_of_the_wrong_kind_is_one_line(data, tmp_path, command, message):
    (tmp_path / "note.txt").write_text("keep me")
    result = invoke(*[part.format(data=data, tmp=tmp_path) for part in command])
    assert message in one_error_line(result)
    assert (tmp_path / "note.txt").read_text() == "keep me"


def test_a_pipe_or_device_as_output_is_refused_even_with_overwrite(data, tmp_path):
    """--overwrite renamed a new file over the existing one: `--out /dev/null --overwrite` run as
    root replaced the device with a plain file."""
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    for extra in ([], ["--overwrite"]):
        refused = invoke("split", data, "--out", pipe, *extra)
        assert "not a regular file (a device, pipe or socket)" in one_error_line(refused)
    assert pipe.is_fifo()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_an_output_where_no_file_can_be_made_names_the_output(data):
    """Root passes the permission check in /proc; the temporary file's name was the error."""
    result = invoke("info", data, "--report", "/proc/imclass-report.json")
    assert one_error_line(result).startswith("error: /proc/imclass-report.json: cannot write there")


def run_as_a_user(*args, cache: Path):
    """The command as this user, or as `nobody` when this is root."""
    cache.mkdir(mode=0o777)
    cache.chmod(0o777)
    env = dict(os.environ, HF_HUB_OFFLINE="1", IMCLASS_CACHE_DIR=str(cache))
    command = as_a_user([sys.executable, "-m", "imclass", *map(str, args)])
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_an_output_under_a_read_only_folder_is_one_line(shared_tmp):
    data = make_image_folder(shared_tmp / "data", ("red", "blue"), per_class=4)
    locked = shared_tmp / "locked"
    locked.mkdir(mode=0o555)
    result = run_as_a_user(
        "split", data, "--out", locked / "new" / "split.csv", cache=shared_tmp / "cache"
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"error: {locked}/new/split.csv: cannot write there (no permission in {locked})"
    )
    assert list(locked.iterdir()) == []


def test_an_unreadable_class_folder_is_skipped_with_a_warning(shared_tmp):
    """Issue 9: a class folder without read permission is skipped, named and counted; only an
    unreadable data folder itself is an error."""
    data = make_image_folder(shared_tmp / "data", ("red", "blue"), per_class=2)
    (data / "red").chmod(0o311)
    try:
        result = run_as_a_user("info", data, cache=shared_tmp / "cache")
    finally:
        (data / "red").chmod(0o755)
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"warning: {data}/red: unreadable folder (Permission denied); skipped\n"
    assert "1 class ('blue'); 1 skipped" in result.stdout
    data.chmod(0o300)
    try:
        refused = run_as_a_user("info", data, cache=shared_tmp / "cache2")
    finally:
        data.chmod(0o755)
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr == f"error: {data}: cannot read this folder (Permission denied)\n"


def test_a_name_as_long_as_the_file_system_allows_is_downsized(tmp_path):
    data = tmp_path / "data"
    for name in ("red", "blue"):
        (data / name).mkdir(parents=True)
        long_name = name + "x" * (251 - len(name)) + ".png"  # 255 bytes, the most ext4 allows
        colour_image((200, 40, 40), 600, seed=len(name)).save(data / name / long_name)
    result = invoke("downsize", data, tmp_path / "small", "--max-side", "100")
    assert result.exit_code == 0, result.exception or result.stderr
    written = sorted((tmp_path / "small").rglob("*.png"))
    assert [len(p.name) for p in written] == [255, 255]
    assert Image.open(written[0]).size == (100, 100)


def test_a_name_too_long_for_the_file_system_is_one_line(data, tmp_path):
    out = tmp_path / ("y" * 300 + ".csv")
    result = invoke("split", data, "--out", out)
    assert result.exit_code == 1 and not crashed(result), result.exception
    assert result.stderr == f"error: {out}: file name too long\n"


def test_names_are_printed_as_they_are_not_as_markup(tmp_path, monkeypatch):
    data = tmp_path / "data"
    for folder, names in (("x[", ("a.png", "b.png")), ("[bold]carton", (":cat:.png", "c.png"))):
        (data / folder).mkdir(parents=True)
        for seed, name in enumerate(names):
            scene(seed + 10 * len(folder)).save(data / folder / name)
    (data / "x[" / "]empty.png").write_bytes(b"")  # printed as x[/]empty.png: a closing tag
    result = invoke("info", data)
    assert result.exit_code == 0, result.exception or result.stderr
    assert "│ [bold]carton │ 2      │" in result.stdout
    assert f"unreadable: {data}/x[/]empty.png: zero bytes" in result.stdout
    assert "advice: class '[bold]carton' has 2 images" in result.stdout
    verified = invoke("verify", data)
    assert verified.exit_code == 1 and f"{data}/x[/]empty.png: zero bytes" in verified.stdout
    monkeypatch.chdir(tmp_path)  # short paths: table cells that do not wrap
    predicted = invoke("predict", "--imagenet", "data")
    assert predicted.exit_code == 0, predicted.exception or predicted.stderr
    assert "│ data/[bold]carton/:cat:.png │" in predicted.stdout


def test_a_name_that_is_not_utf8_is_printed_with_backslash_escapes(tmp_path):
    data = make_image_folder(tmp_path / "data", ("red", "blue"), per_class=2)
    (data / "red").joinpath(os.fsdecode(b"caf\xe9.png")).write_bytes(b"")
    result = run_cli("verify", data, "--report", tmp_path / "report.csv")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"{data}/red/caf\\udce9.png: zero bytes" in result.stdout
    assert b"caf\xe9.png,zero bytes" in (tmp_path / "report.csv").read_bytes()


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_get_the_users_umask(data, tmp_path, umask, mode):
    out = tmp_path / "split.csv"
    subprocess.run(
        [sys.executable, "-m", "imclass", "split", str(data), "--out", str(out)],
        env=dict(os.environ, HF_HUB_OFFLINE="1"),
        capture_output=True,
        check=True,
        preexec_fn=lambda: os.umask(umask),
    )
    assert out.stat().st_mode & 0o777 == mode


def _catches_sigterm(pid: int) -> bool:
    """The command installs its SIGTERM handler on entry: from then on it is inside imclass."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:"))[7:], 16)
    return bool(caught & (1 << (signal.SIGTERM - 1)))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_ctrl_c_is_one_line_and_exit_130(tmp_path):
    image = tmp_path / "cat.png"
    scene(2).save(image)
    process = subprocess.Popen(
        [sys.executable, "-m", "imclass", "predict", "--imagenet", str(image)],
        env=dict(os.environ, HF_HUB_OFFLINE="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    while process.poll() is None and not _catches_sigterm(process.pid):
        time.sleep(0.005)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert (process.returncode, stderr, stdout) == (130, "interrupted\n", "")
