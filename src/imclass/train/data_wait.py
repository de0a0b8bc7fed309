"""When training waits for images: the one-line warning, with the likely cause and the fixes.

Time a fine-tuning step spends blocked on the loader is time the model does nothing. With the
defaults on hymenoptera (small JPEGs, 2 cores) it is 2.9 % (bench/train_speed.py); photos of
12 MP and more, a network or rotating disk, or too few decoding workers (a GPU trains far
faster than one core decodes) push it up. Above a fifth, decoding or reading sets the pace.
"""

from __future__ import annotations

DATA_WAIT_WARNING = 0.2  # fraction of an epoch's time spent waiting for the loader


def data_wait_warning(
    fraction: float, epoch: str, *, cache: bool, workers: int, cores: int
) -> str | None:
    """The warning for an epoch that waited fraction of its time for data, or None when it
    did not wait long (or was not measured: NaN). cache: the decode cache was on; workers:
    the loader's decoding processes; cores: the cores this process may use."""
    if not fraction > DATA_WAIT_WARNING:
        return None
    fixes = []
    if not cache:
        fixes.append("--cache (decode each image once, reuse it every epoch)")
    fixes.append("`imclass downsize DATA SMALLER` for photos above 4 MP")
    if workers < cores:
        fixes.append(f"--workers {cores} (now {workers})")
    fixes.append("images on a local SSD rather than a network or rotating disk")
    return (
        f"{epoch} spent {fraction:.0%} of its time waiting for images: reading and decoding "
        f"them is slower than training on them. Try {', '.join(fixes)}"
    )
