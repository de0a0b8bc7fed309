"""What tests share: tiny real images and files built on the fly, and two ways to run the CLI.
Fixtures live in conftest.py; no test module imports another."""

from __future__ import annotations

import io
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
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


class ServerProcess:
    """`imclass COMMAND ARGS --port 0` as a real process (so a test can kill -9 it), with the
    URL it printed first. Use as a context manager; the process is killed on leaving."""

    def __init__(self, command: str, *args, timeout: float = 60):
        env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
        argv = [sys.executable, "-m", "imclass", command, *map(str, args), "--port", "0"]
        self.process = subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        first = self._first_line(timeout)
        if not first.startswith(f"imclass {command}: http://"):
            self.kill()
            raise AssertionError(f"{command} did not start: {first}{self.process.stdout.read()}")
        self.url = first.split(": ", 1)[1].strip()
        self.base = "/".join(self.url.split("/", 3)[:3])  # http://127.0.0.1:PORT

    def _first_line(self, timeout: float) -> str:
        import selectors

        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                self.kill()
                raise AssertionError(f"the server printed nothing in {timeout} s")
        return self.process.stdout.readline()

    def kill(self) -> None:
        """SIGKILL: nothing in the server gets to run afterwards."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        self.process.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.kill()


class AppServer(ServerProcess):
    """`imclass app DATA ARGS --port 0`, with the URL and token it printed."""

    def __init__(self, data: Path, *args, timeout: float = 60):
        super().__init__("app", data, *args, timeout=timeout)
        self.token = self.url.rsplit("token=", 1)[1]  # http://127.0.0.1:PORT/label?token=T


def browser_or_skip(*args: str):
    """Playwright's Chromium: Debian's /usr/bin/chromium (no browser download), with any more
    command-line args; skips the test with the reason when either is missing. Returns
    (playwright, browser); stop both after."""
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("needs /usr/bin/chromium (apt-get install chromium; .ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip)")
    playwright = sync_api.sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path="/usr/bin/chromium", args=["--no-sandbox", *args], headless=True
    )
    return playwright, browser


# ---- the Label page in a browser (tests/app) ----


def open_label_page(browser, server: AppServer):
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.goto(server.url)  # the token becomes a cookie; the address bar loses it
    page.wait_for_selector("#save-status[data-state=saved]")
    assert "token" not in page.url
    return page


def press_and_wait_saved(page, keys: list[str]) -> None:
    for key in keys:
        page.keyboard.press(key)
    page.wait_for_selector("#save-status[data-state=saved]", timeout=20_000)


def tsv_rows(tsv: Path) -> dict[str, tuple[tuple[str, ...], bool]]:
    lines = tsv.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "IM_FILENAME\tEXCLUDE\tLABELS"
    rows = {}
    for line in lines[1:]:
        name, exclude, labels = line.split("\t")
        rows[name] = (tuple(filter(None, labels.split(","))), exclude == "True")
    return rows


# ---- a multi-label run's predictions (tests/evaluate) ----

# (path, labels, probabilities of a and b): image 2 is marked "a" but shows none; image 6
# shows "b", which is not marked.
MULTILABEL_PREDICTIONS = [
    ("0.jpg", "a", [0.9, 0.1]),
    ("1.jpg", "a", [0.8, 0.2]),
    ("2.jpg", "a", [0.1, 0.05]),
    ("3.jpg", "b", [0.1, 0.9]),
    ("4.jpg", "b", [0.2, 0.8]),
    ("5.jpg", "", [0.05, 0.1]),
    ("6.jpg", "", [0.15, 0.95]),
]


# ---- collect against the fake search APIs (tests/collect) ----


def local_provider(name: str, base: str, **changes):
    """The provider asking the local fake server at base, without its politeness pause between
    searches (changes: other fields of the provider, politeness included)."""
    import dataclasses

    from imclass.collect.providers import Politeness, create_provider

    provider = create_provider(name, endpoint=base)
    return dataclasses.replace(provider, **{"politeness": Politeness(0, 4), **changes})


# ---- imclass serve (tests/serve) ----


def poll_until_ready(base: str, timeout: float = 300) -> list[tuple[int, int, str]]:
    """(/healthz status, /readyz status, readyz's "status") polled from now until /readyz
    answers 200 or says the model failed; the last row is that answer."""
    import time

    import httpx

    seen, deadline = [], time.monotonic() + timeout
    with httpx.Client(base_url=base, timeout=timeout) as client:
        while time.monotonic() < deadline:
            alive = client.get("/healthz").status_code
            ready = client.get("/readyz")
            seen.append((alive, ready.status_code, ready.json()["status"]))
            if ready.status_code == 200 or ready.json()["status"] == "failed":
                return seen
            time.sleep(0.02)
    raise AssertionError(f"{base}/readyz did not answer 200 in {timeout} s: {seen[-3:]}")


# ---- a PostgreSQL server of a test's own (experiments/test_sweep.py) ----


def postgres_binaries() -> Path | None:
    """The newest installed PostgreSQL's programs (Debian: /usr/lib/postgresql/N/bin)."""
    found = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    found.sort(key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0)
    return found[-1] if found else None


def free_port() -> int:
    """A loopback port nobody listened on a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """A throwaway PostgreSQL server (fsync off) on a free loopback port, holding one database
    at `url`; as root its programs run as the `postgres` user, since initdb refuses root. Use
    as a context manager: the server is stopped and its folder removed on leaving."""

    def __init__(self, binaries: Path):
        self.binaries = binaries
        self.folder = Path(tempfile.mkdtemp(prefix="imclass-postgres-"))
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/sweeps"
        self.owner = ["runuser", "-u", "postgres", "--"] if AS_ROOT else []

    def __enter__(self) -> PostgresServer:
        if AS_ROOT:
            shutil.chown(self.folder, "postgres")
        data, options = self.folder / "data", f"-p {self.port} -k {self.folder} -F"
        try:
            self._run("initdb", "-D", data, "--auth=trust", "--username=postgres", "--no-sync")
            self._run(
                "pg_ctl", "-D", data, "-l", self.folder / "server.log", "-w", "start",
                "-o", f"{options} -c listen_addresses=127.0.0.1",
            )  # fmt: skip
            self._run("createdb", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres", "sweeps")
        except subprocess.CalledProcessError as error:
            self.__exit__()
            raise AssertionError(f"PostgreSQL did not start: {error.stderr}") from None
        return self

    def __exit__(self, *exc_info) -> None:
        self._run("pg_ctl", "-D", self.folder / "data", "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, program: str, *args, check: bool = True) -> None:
        command = [*self.owner, str(self.binaries / program), *map(str, args)]
        subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)


# ---- exported models (tests/inference, tests/cli) ----


def onnx_file(path: Path, *, metadata: dict[str, str] | None = None, size: int = 64) -> Path:
    """A one-node ONNX model (a Cast) taking uint8 'pixels' N x 3 x size x size, with
    metadata_props: a foreign model, or with imclass metadata one of the wrong input."""
    import onnx
    from onnx import TensorProto, helper

    pixels = helper.make_tensor_value_info("pixels", TensorProto.UINT8, ["N", 3, size, size])
    out = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 3, size, size])
    graph = helper.make_graph(
        [helper.make_node("Cast", ["pixels"], ["probabilities"], to=TensorProto.FLOAT)],
        "foreign",
        [pixels],
        [out],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    helper.set_model_props(model, metadata or {})
    onnx.save(model, str(path))
    return path
