"""What downloads and searches share about answers to ask again: which statuses, and how long
a server may ask us to wait (Retry-After)."""

from __future__ import annotations

RETRY_STATUSES = (429, 500, 502, 503, 504)  # answers worth asking again, after a wait
MAX_RETRY_AFTER = 60.0  # a server asking for longer is given up on for this run


def retry_after(value: str | None, give_up: type[Exception]) -> float | None:
    """Seconds from a Retry-After header (delay form), None without one; a longer wait than we
    allow raises give_up (an exception class) with the reason. Downloads and searches share it."""
    if value is None or not value.strip().isdigit():
        return None
    wait = float(value)
    if wait > MAX_RETRY_AFTER:
        raise give_up(f"asked to retry after {value} s")
    return wait
