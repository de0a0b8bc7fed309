"""Issue 9's acceptance corpus: a hostile data set built on the fly and run through every data
command and a tiny training, as a user runs them (real processes). Each run must end in exit 0,
or in the exit its result calls for, or in one `error:` line for a refusal; never a traceback.
The input tree and the folder a class links to are byte-for-byte the same afterwards, nothing
outside the corpus is written, and every file skipped is named."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers import scene

LONG_NAME = "l" * 251 + ".png"  # 255 bytes: the most one name may have on ext4
NOT_UTF8 = os.fsdecode(b"caf\xe9.png")
BROKEN = ("x[/]empty.png", "plain/cut.jpg", "plain/text.jpg")  # unreadable: zero bytes, cut, text
NOTED = ("plain/gone.png", "plain/pipe.jpg", "loop")  # dangling link, FIFO, `loop -> .`


def _jpeg(seed: int) -> bytes:
    buffer = io.BytesIO()
    scene(seed, (48, 40)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def build_corpus(base: Path) -> Path:
    """base/corpus (the data set) and base/external (a class folder the corpus links to)."""
    corpus, external = base / "corpus", base / "external" / "far"
    for folder in (corpus / "[bold]carton", corpus / "x[", corpus / "plain", external):
        folder.mkdir(parents=True)
    for seed in range(4):
        scene(seed).resize((48, 40)).save(corpus / "[bold]carton" / f"c{seed}.png")
        scene(10 + seed).resize((48, 40)).save(external / f"e{seed}.png")
        (corpus / "x[" / f"{']a' if seed == 0 else seed}.jpg").write_bytes(_jpeg(20 + seed))
        scene(30 + seed).resize((48, 40)).save(corpus / "plain" / f"p{seed}.png")
    sixteen = (np.random.default_rng(0).random((40, 48)) * 65535).astype(np.uint16)
    Image.fromarray(sixteen).save(corpus / "[bold]carton" / "deep.png")  # mode I;16
    scene(40).resize((48, 40)).save(corpus / "plain" / NOT_UTF8)
    scene(41).resize((48, 40)).save(corpus / "plain" / LONG_NAME)
    (corpus / "plain" / "dup.png").write_bytes((corpus / "plain" / "p0.png").read_bytes())
    (corpus / "x[" / "]empty.png").write_bytes(b"")
    (corpus / "plain" / "cut.jpg").write_bytes(_jpeg(50)[:300])
    (corpus / "plain" / "text.jpg").write_text("not an image\n")
    os.mkfifo(corpus / "plain" / "pipe.jpg")
    os.symlink("../nowhere.png", corpus / "plain" / "gone.png")
    os.symlink(".", corpus / "loop")
    os.symlink(external, corpus / "linked")
    return corpus


def snapshot(*roots: Path) -> dict:
    """Every entry below roots, links not followed: a file's sha256, a link's target, a FIFO."""
    found = {}
    for root in roots:
        for folder, folders, files in os.walk(root):
            for name in folders + files:
                path = Path(folder, name)
                mode = path.lstat().st_mode
                if stat.S_ISLNK(mode):
                    found[path] = ("link", os.readlink(path))
                elif stat.S_ISREG(mode):
                    found[path] = hashlib.sha256(path.read_bytes()).hexdigest()
                else:
                    found[path] = stat.filemode(mode)
    return found


def run(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    command = [sys.executable, "-m", "imclass", *map(str, args)]
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, errors="backslashreplace",
        timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return build_corpus(tmp_path_factory.mktemp("hostile"))


def _named(text: str, corpus: Path, relative: str) -> bool:
    return str(corpus / relative) in text


# (arguments, the exit expected, whether the command decodes images and names unreadable ones)
COMMANDS = {
    "info": (["info", "{data}", "--report", "{out}/info.json"], 0, True),
    "verify": (["verify", "{data}", "--report", "{out}/verify.csv"], 1, True),
    "dedup": (["dedup", "{data}", "--max-distance", "4"], 0, True),
    "dedup-clean": (["dedup", "{data}", "--action", "clean", "--to", "{out}/clean"], 0, True),
    "downsize": (["downsize", "{data}", "{out}/small", "--max-side", "32"], 0, True),
    "convert": (["convert", "{data}", "--to", "csv", "--out", "{out}/csv"], 0, False),
    "split": (["split", "{data}", "--out", "{out}/split.csv"], 0, False),
    "augment-preview": (
        ["augment-preview", "{data}", "-n", "4", "--image-size", "32", "--out", "{out}/g.png"],
        0,
        False,
    ),
    "train": (
        [
            "train",
            "{data}",
            "--out",
            "{out}/run",
            "--epochs",
            "0",
            "--head-epochs",
            "1",
            "--image-size",
            "32",
            "--workers",
            "0",
            "--no-refit",
            "--batch-size",
            "8",
        ],
        0,
        True,
    ),  # fmt: skip
}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.slow) if name == "train" else name  # real training
        for name in COMMANDS
    ],
)
def test_every_command_runs_over_the_corpus_touching_nothing(corpus, tmp_path, name):
    arguments, expected, decodes = COMMANDS[name]
    before = snapshot(corpus.parent)
    out = tmp_path / "out"
    out.mkdir()
    result = run(*[a.format(data=corpus, out=out) for a in arguments], cwd=tmp_path)
    output = result.stdout + result.stderr
    assert "Traceback" not in output and result.returncode == expected, output
    assert snapshot(corpus.parent) == before
    for relative in NOTED:
        assert f"warning: {corpus / relative}" in result.stderr, relative
    for relative in BROKEN if decodes else ():
        assert _named(output, corpus, relative), relative


def test_outputs_keep_every_class_and_name(corpus, tmp_path):
    """The linked class keeps its name, a 255-byte name and one that is not UTF-8 survive."""
    result = run("downsize", corpus, tmp_path / "small", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = {p.relative_to(tmp_path / "small") for p in (tmp_path / "small").rglob("*.*")}
    assert {Path("linked/e0.png"), Path("plain") / LONG_NAME, Path("plain") / NOT_UTF8} <= written
    assert Path("loop") not in {p.parents[-2] for p in written}


@pytest.mark.parametrize(
    ("arguments", "kind"),
    [
        (["verify", "{data}", "--quarantine", "{out}/bad"], "bad"),
        (["dedup", "{data}", "--action", "move", "--to", "{out}/bad"], "redundant"),
    ],
)
def test_moving_files_out_takes_only_the_files_named(tmp_path, arguments, kind):
    """A move changes the corpus by design: only the files it names leave, and only them."""
    corpus = build_corpus(tmp_path)
    external = snapshot(tmp_path / "external")
    before = snapshot(corpus)
    result = run(*[a.format(data=corpus, out=tmp_path) for a in arguments], cwd=tmp_path)
    assert "Traceback" not in result.stderr and result.returncode in (0, 1), result.stderr
    moved = {p.relative_to(tmp_path / "bad") for p in (tmp_path / "bad").rglob("*.*")}
    expected = {Path(b) for b in BROKEN} if kind == "bad" else {Path("plain/dup.png")}
    if kind == "redundant" and (corpus / "plain" / "dup.png").exists():
        expected = {Path("plain/p0.png")}
    assert moved == expected
    after = snapshot(corpus)
    assert {p: h for p, h in before.items() if p.relative_to(corpus) not in moved} == after
    assert snapshot(tmp_path / "external") == external
    for path in moved:
        assert str(corpus / path) in result.stdout


@pytest.fixture
def escaping_labels(tmp_path) -> Path:
    """The corpus with a label file whose rows climb out of it (../: inside --root TMP) and
    point elsewhere (/etc/passwd: outside any root)."""
    corpus = build_corpus(tmp_path)
    rows = ["[bold]carton/c0.png,carton", "x[/1.jpg,x"]
    rows += ["../external/far/e0.png,far", "/etc/passwd,far"]
    (corpus / "labels.csv").write_text("filename,labels\n" + "\n".join(rows) + "\n")
    return corpus / "labels.csv"


@pytest.mark.parametrize(
    "arguments",
    [
        ["info", "{labels}"],
        ["verify", "{labels}", "--quarantine", "{out}/bad"],
        ["convert", "{labels}", "--to", "folders", "--out", "{out}/copy"],
        ["dedup", "{labels}", "--action", "move", "--to", "{out}/bad", "--root", "{tmp}"],
    ],
)
def test_label_file_rows_leading_out_are_one_line_errors(escaping_labels, tmp_path, arguments):
    before = snapshot(tmp_path)
    out = tmp_path / "outputs"
    arguments = [a.format(labels=escaping_labels, out=out, tmp=tmp_path) for a in arguments]
    result = run(*arguments, cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {escaping_labels}: line "), lines
    assert "is outside the data set" in lines[0]
    assert ("line 5: /etc/passwd" if "--root" in arguments else "line 4: ../external") in lines[0]
    assert snapshot(tmp_path) == before
