"""The Label page's key press -> next image shown, on 2,000 generated 1600x1200 photos.

    python bench/app_latency.py [--photos 2000] [--presses 200] [--pause-ms 200] [--run RUN_DIR]

Starts the real `imclass app` on 127.0.0.1 over a temporary folder, drives the Label page in
headless Chromium (Playwright, /usr/bin/chromium) and presses 1 and 2 alternately: each press
labels the image and moves to the next. A press is timed from the keydown event's timestamp to
the page's `window.__imclassShown` mark for the next image (its <img> loaded, at the start of
the frame that paints it), both on the page's clock. Twice: a cold cache (display copies made
on demand, behind the page's prefetch) and a warm one (a second server and browser, the copies
made by the first). Prints median and 95th percentile in ms; asserts nothing. The issue's
target: under 100 ms.

The photos are copies of 40 distinct ones (film grain over a smooth scene, so JPEG size and
decode time are real): writing 2,000 distinct 2-megapixel JPEGs would take minutes, and every
file is still decoded on its own, as the cache is keyed by path.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import TEXTURE_SIDE, photo  # noqa: E402

SIZE = (1600, 1200)
DISTINCT = 40
WARM_UP = 20
CHROMIUM = "/usr/bin/chromium"


def write_folder(folder: Path, count: int) -> None:
    """count JPEGs, flat and unlabelled: copies of DISTINCT generated photos."""
    texture = np.random.default_rng(0).normal(0, 10, (TEXTURE_SIDE, TEXTURE_SIDE, 3))
    texture = texture.astype(np.int16)
    originals = []
    for index in range(min(DISTINCT, count)):
        path = folder / f"photo_{index:04d}.jpg"
        photo(index, SIZE, texture).save(path, quality=90)
        originals.append(path)
    for index in range(len(originals), count):
        shutil.copyfile(originals[index % len(originals)], folder / f"photo_{index:04d}.jpg")


class Server:
    """`python -m imclass app FOLDER --port 0` in its own process, with the URL it printed."""

    def __init__(self, folder: Path, cache: Path, extra: list[str]):
        env = dict(os.environ, IMCLASS_CACHE_DIR=str(cache), HF_HUB_OFFLINE="1")
        command = [sys.executable, "-m", "imclass", "app", str(folder), "--port", "0"]
        self.process = subprocess.Popen(
            [*command, *extra], env=env, stdout=subprocess.PIPE, text=True
        )
        first = self.process.stdout.readline()
        if not first.startswith("imclass app: http://"):
            self.process.kill()
            raise SystemExit(f"the app did not start: {first}")
        self.url = first.split(": ", 1)[1].strip()

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def measure(browser, url: str, presses: int, pause_ms: int) -> list[float]:
    """Milliseconds from each keydown to the next image shown, after WARM_UP presses."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#save-status[data-state=saved]")
    page.evaluate(
        "() => { window.__keys = []; window.addEventListener('keydown',"
        " (e) => window.__keys.push(e.timeStamp), true); }"
    )
    latencies = []
    for press in range(WARM_UP + presses):
        following = page.evaluate("() => state.images[state.index + 1].path")
        page.keyboard.press("1" if press % 2 == 0 else "2")
        shown_at = page.wait_for_function(
            "(path) => window.__imclassShown.find((s) => s.path === path)?.at",
            arg=following,
            timeout=30_000,
        ).json_value()
        pressed_at = page.evaluate("() => window.__keys[window.__keys.length - 1]")
        if press >= WARM_UP:
            latencies.append(shown_at - pressed_at)
        page.wait_for_timeout(pause_ms)
    page.wait_for_selector("#save-status[data-state=saved]", timeout=60_000)
    context.close()
    return latencies


def report(name: str, latencies: list[float]) -> None:
    median, p95 = np.percentile(latencies, [50, 95])
    print(
        f"{name:<38} median {median:6.1f} ms   95th percentile {p95:6.1f} ms   "
        f"max {max(latencies):6.1f} ms   ({len(latencies)} presses)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=2000)
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument(
        "--pause-ms", type=int, default=200, help="between presses: a fast labeller; 0 back to back"
    )
    parser.add_argument("--run", help="a run directory: its classes, and its suggestions on")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    extra = ["--run", args.run] if args.run else ["--classes", "a,b"]
    with tempfile.TemporaryDirectory() as temporary, sync_playwright() as playwright:
        folder, cache = Path(temporary) / "photos", Path(temporary) / "cache"
        folder.mkdir()
        write_folder(folder, args.photos)
        print(f"{args.photos} JPEGs of {SIZE[0]}x{SIZE[1]}, a press every {args.pause_ms} ms")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for name in ("cold cache (copies made on demand)", "warm cache (copies made before)"):
            for labels in folder.glob("annotations.tsv*"):
                labels.unlink()  # the same images come first again
            server = Server(folder, cache, extra)
            try:
                report(name, measure(browser, server.url, args.presses, args.pause_ms))
            finally:
                server.stop()
        browser.close()


if __name__ == "__main__":
    main()
