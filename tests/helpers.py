"""What tests share: tiny real images and files built on the fly, and two ways to run the CLI.
Fixtures live in conftest.py; no test module imports another."""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image

AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# Colours far apart, so a few epochs on 48-px images separate the classes reliably.
CLASS_COLOURS = {"red": (200, 40, 40), "green": (40, 170, 60), "blue": (40, 60, 200)}


def colour_image(colour, size: int = 48, seed: int = 0) -> Image.Image:
    """A noisy image dominated by colour, with a random darker square (no two alike)."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(colour) + rng.normal(0, 25, (size, size, 3)), 0, 255)
    x, y = rng.integers(0, size // 2, 2)
    pixels[y : y + size // 3, x : x + size // 3] *= 0.5
    return Image.fromarray(pixels.astype(np.uint8))


def make_image_folder(
    root: Path, classes=("red", "blue"), per_class: int = 10, size: int = 48, ext: str = ".png"
) -> Path:
    """root/<class>/<class>_<i><ext>, images generated from the class colour."""
    for c_index, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            colour_image(CLASS_COLOURS[name], size, seed=1000 * c_index + i).save(
                root / name / f"{name}_{i}{ext}"
            )
    return root


def scene(seed: int, size=(320, 240)) -> Image.Image:
    """A smooth random photo-like scene; different seeds give visually distinct images."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (6, 8, 3)).astype(np.uint8)
    return Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC)


def next_frame(image: Image.Image, seed: int) -> Image.Image:
    """The 'next video frame': shifted one pixel, with sensor noise."""
    pixels = np.roll(np.asarray(image).astype(float), 1, axis=1)
    pixels += np.random.default_rng(seed).normal(0, 4, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height: a decompression bomb without the payload."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def jpeg_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def image_set(labels, names=None):
    """An ImageSet of made-up paths under /d (nothing is read)."""
    from imclass.data.dataset import ImageSet

    names = names or [f"img_{i}.jpg" for i in range(len(labels))]
    return ImageSet(tuple(Path("/d") / n for n in names), tuple(labels))


def invoke(*args) -> Result:
    """The command in this process (no second torch import), stdout and stderr apart."""
    from imclass.cli import main

    return CliRunner().invoke(main, [os.fsdecode(a) for a in args])


def run_cli(*args, timeout=300) -> subprocess.CompletedProcess:
    """`python -m imclass ARGS` as a real process: for what only a process shows (exit status
    of the interpreter, signals, another user, the umask, bytes written to the terminal)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    return subprocess.run(
        [sys.executable, "-m", "imclass", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def crashed(result: Result) -> bool:
    """Whether the command raised past the CLI's error handling: what a user would see as a
    traceback (in this process CliRunner keeps the exception instead of printing it)."""
    return result.exception is not None and not isinstance(result.exception, SystemExit)


def one_error_line(result: Result) -> str:
    """The single `error: ...` line a refused command prints; fails on anything else."""
    lines = result.stderr.strip().splitlines()
    assert result.exit_code != 0 and len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and not crashed(result), result.exception
    return lines[0]


def as_a_user(command: list[str]) -> list[str]:
    """command as this user, or as `nobody` when this is root (whom no permission bit stops), so
    permission tests run in a root container too."""
    if not AS_ROOT:
        return command
    if shutil.which("setpriv") is None:
        pytest.skip("root ignores permissions; setpriv is needed to run as another user")
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]
