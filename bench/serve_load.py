"""`imclass serve` under load: throughput and latency of concurrent clients against one client's
sequential requests, the runtime's own batch throughput, and the server's memory over many
requests.

    python bench/serve_load.py RUN_DIR [--clients 16] [--seconds 60] [--leak-requests 10000]

Starts the real `imclass serve RUN_DIR` on 127.0.0.1 (a free port) and waits for /readyz. Then,
in one run, so the ratios compare like with like:

1. runtime batch: Predictor.predict_images on batches of --max-batch decoded photos, in this
   process while the server idles, with the runtime the server answers with (/v1/model): the
   images a second the service's batches could reach;
2. eager baseline: one client, each request sent when the last is answered, for --baseline-seconds;
3. load: --clients concurrent clients (httpx, asyncio; one connection each) for --seconds, then
   on until --leak-requests requests have been answered, the server's RSS (psutil on its pid)
   read after a tenth of them and after all.

Each request is one 640x480 JPEG photo in a multipart form, as a camera app would send it.
Prints requests, failures, requests a second, p50 and p99 latency of each phase, the ratios
load/eager and load/runtime batch, both RSS figures and their ratio, and the load average.
Exits 1 when a request failed or the RSS grew by more than 10 %; asserts nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import TEXTURE_SIDE, photo  # noqa: E402

SIZE = (640, 480)
PHOTOS = 16
LEAK_TOLERANCE = 1.10  # RSS after all requests / after a tenth of them
MAX_CLIENTS = 256


class Server:
    """`python -m imclass serve RUN_DIR --port 0 ARGS` in its own process, once ready."""

    def __init__(self, run_dir: Path, extra: list[str]):
        env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
        command = [sys.executable, "-m", "imclass", "serve", str(run_dir), "--port", "0"]
        self.process = subprocess.Popen(
            [*command, *extra], env=env, stdout=subprocess.PIPE, text=True
        )
        first = self.process.stdout.readline()
        if not first.startswith("imclass serve: http://"):
            self.stop()
            raise SystemExit(f"the server did not start: {first}")
        self.base = first.split(": ", 1)[1].strip()
        self.started = time.monotonic()
        self.ready_after = self._wait_ready()

    def _wait_ready(self, timeout: float = 600) -> float:
        while time.monotonic() - self.started < timeout:
            answer = httpx.get(f"{self.base}/readyz", timeout=30)
            if answer.status_code == 200:
                return time.monotonic() - self.started
            if answer.json()["status"] == "failed":
                self.stop()
                raise SystemExit(f"the model cannot be served: {answer.json()['detail']}")
            time.sleep(0.05)
        self.stop()
        raise SystemExit(f"{self.base}/readyz did not answer 200 in {timeout} s")

    def rss(self) -> int:
        """The resident memory of the server and its worker processes."""
        root = psutil.Process(self.process.pid)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(60)


@dataclass
class Tally:
    """Latencies of answered requests (seconds), failures, and what to read RSS at."""

    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    rss_at: dict[int, int] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return len(self.latencies) + len(self.failures)


def jpegs() -> list[bytes]:
    texture = np.random.default_rng(0).normal(0, 10, (TEXTURE_SIDE, TEXTURE_SIDE, 3))
    out = []
    for seed in range(PHOTOS):
        buffer = io.BytesIO()
        photo(seed, SIZE, texture.astype(np.int16)).save(buffer, format="JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


async def client_loop(client, photos, tally: Tally, until: float, total: int, server) -> None:
    """Send one request after another until the deadline has passed and total are done."""
    index = 0
    while time.monotonic() < until or tally.done < total:
        body = photos[index % len(photos)]
        index += 1
        started = time.perf_counter()
        try:
            answer = await client.post("/v1/predict", files={"file": ("photo.jpg", body)})
            ok = answer.status_code == 200 and answer.json()["predictions"]
        except httpx.HTTPError as error:
            ok, answer = False, error
        if ok:
            tally.latencies.append(time.perf_counter() - started)
        else:
            tally.failures.append(str(getattr(answer, "text", answer))[:200])
        if tally.done in (total // 10, total):
            tally.rss_at.setdefault(tally.done, server.rss())


async def drive(server, photos, clients: int, seconds: float, total: int) -> tuple[Tally, float]:
    """clients at once for seconds, then on until total requests are done (0: stop at the
    deadline); the tally and the seconds it all took."""
    tally = Tally()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=server.base, timeout=120, limits=limits) as client:
        started = time.monotonic()
        until = started + seconds
        loops = [client_loop(client, photos, tally, until, total, server) for _ in range(clients)]
        await asyncio.gather(*loops)
    return tally, time.monotonic() - started


def runtime_batch_rate(
    run_dir: Path, runtime: str, photos: list[bytes], batch: int, seconds: float
) -> float:
    """Images a second of Predictor.predict_images on batches of decoded photos, in process,
    with the runtime the server answers with."""
    from imclass.inference import Predictor
    from imclass.inference.answers import decode_for
    from imclass.inference.device import use_all_cores

    use_all_cores()  # as the server's one process does
    predictor = Predictor.from_run_dir(run_dir, runtime=runtime, batch_size=batch)
    images = [decode_for(predictor.spec, photos[i % len(photos)], 1 << 30) for i in range(batch)]
    predictor.predict_images(images)  # warm-up
    done, started = 0, time.monotonic()
    while time.monotonic() - started < seconds:
        predictor.predict_images(images)
        done += batch
    return done / (time.monotonic() - started)


def report(name: str, tally: Tally, seconds: float) -> float:
    rate = len(tally.latencies) / seconds
    p50, p99 = (1000 * np.percentile(tally.latencies, q) for q in (50, 99))
    print(
        f"{name}: {tally.done} requests, {len(tally.failures)} failed, {rate:.1f} req/s, "
        f"p50 {p50:.0f} ms, p99 {p99:.0f} ms"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--baseline-seconds", type=float, default=20)
    parser.add_argument("--leak-requests", type=int, default=10_000)
    parser.add_argument("--max-batch", type=int, default=32)
    parser.add_argument("--serve-args", default="", help="more `imclass serve` options, quoted")
    args = parser.parse_args()
    if not 1 <= args.clients <= MAX_CLIENTS:
        raise SystemExit(f"--clients must be in 1..{MAX_CLIENTS}")
    photos = jpegs()
    extra = ["--max-batch", str(args.max_batch), *args.serve_args.split()]
    server = Server(args.run_dir, extra)
    try:
        model = httpx.get(f"{server.base}/v1/model").json()
        print(
            f"imclass serve {args.run_dir} ({model['architecture']}, {len(model['classes'])} "
            f"classes, {model['preprocessing']['image_size']} px, {model['runtime']}): ready "
            f"after {server.ready_after:.1f} s; {os.cpu_count()} cores"
        )
        batch_rate = runtime_batch_rate(
            args.run_dir, model["runtime"], photos, args.max_batch, args.baseline_seconds
        )
        print(f"runtime batch ({args.max_batch} images, in process): {batch_rate:.1f} img/s")
        eager, eager_s = asyncio.run(drive(server, photos, 1, args.baseline_seconds, 0))
        eager_rate = report("eager baseline (1 client, sequential)", eager, eager_s)
        load, load_s = asyncio.run(
            drive(server, photos, args.clients, args.seconds, args.leak_requests)
        )
        load_rate = report(f"under load ({args.clients} clients)", load, load_s)
        print(f"throughput ratio load/eager: {load_rate / eager_rate:.2f}")
        print(f"throughput ratio load/runtime batch: {load_rate / batch_rate:.2f}")
        failed = len(eager.failures) + len(load.failures)
        for failure in (eager.failures + load.failures)[:5]:
            print(f"  failed: {failure}")
        leak = rss_report(load.rss_at, args.leak_requests)
    finally:
        server.stop()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    sys.exit(1 if failed or leak else 0)


def rss_report(rss_at: dict[int, int], total: int) -> bool:
    """Prints the RSS after a tenth of the requests and after all; True when it grew > 10 %."""
    first, last = rss_at.get(total // 10), rss_at.get(total)
    if first is None or last is None:
        print(f"server RSS: not read (fewer than {total} requests)")
        return False
    ratio = last / first
    print(
        f"server RSS after {total // 10:,} requests: {first / 2**20:.0f} MB; after {total:,}: "
        f"{last / 2**20:.0f} MB; ratio {ratio:.3f} (limit {LEAK_TOLERANCE:.2f})"
    )
    return ratio > LEAK_TOLERANCE


if __name__ == "__main__":
    main()
