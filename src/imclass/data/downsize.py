"""A resized copy of a data set with the same layout, for images above a size limit.

Large photos are decoded at reduced scale first (JPEG draft mode), turned upright from their
EXIF orientation, resized with Lanczos and saved in their own format (JPEG at quality 90, a
level where re-encoding artefacts are invisible at training sizes). Small images are
hard-linked (or copied) unchanged. The source is never modified; every destination is checked
before the first file is written.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from imclass.data.images import UnreadableImage, failure_reason, load_rgb, open_image
from imclass.data.relocate import link_or_copy, plan_destinations
from imclass.data.workers import parallel_map
from imclass.errors import invalid_parameter
from imclass.files import atomic_path

JPEG_QUALITY = 90


@dataclass(frozen=True)
class SizeLimit:
    """At most max_pixels pixels and, if given, at most max_side on the longer side."""

    max_pixels: int | None = 4_000_000
    max_side: int | None = None

    def __post_init__(self) -> None:
        if self.max_pixels is not None and self.max_pixels < 1024:
            raise invalid_parameter("max_megapixels", "downsize", "at least 0.001", self.max_pixels)
        if self.max_side is not None and self.max_side < 16:
            raise invalid_parameter("max_side", "downsize", "an int >= 16", self.max_side)

    def target(self, width: int, height: int) -> tuple[int, int] | None:
        """The new size, or None when the image already fits."""
        scale = 1.0
        if self.max_pixels and width * height > self.max_pixels:
            scale = math.sqrt(self.max_pixels / (width * height))
        if self.max_side and max(width, height) * scale > self.max_side:
            scale = self.max_side / max(width, height)
        if scale >= 1.0:
            return None
        return max(1, int(width * scale)), max(1, int(height * scale))


def _downsize_one(job: tuple[str, str, SizeLimit]) -> tuple[str, str]:
    """(action, detail): 'resized' WxH, 'link'/'copy', or 'skipped' with the reason."""
    source, target, limit = Path(job[0]), Path(job[1]), job[2]
    try:
        with open_image(source) as image:
            size, fmt = _upright_size(image), image.format
    except Exception as error:  # noqa: BLE001 - reported per file, never fatal
        return "skipped", failure_reason(error)
    new_size = limit.target(*size)
    if new_size is None:
        return link_or_copy(source, target), ""
    try:
        picture = load_rgb(source, min_size=min(new_size))
    except UnreadableImage as error:
        return "skipped", error.reason
    picture = picture.resize(new_size, Image.Resampling.LANCZOS)
    with atomic_path(target) as temporary:
        if fmt == "JPEG":
            picture.save(temporary, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        else:
            picture.save(temporary, format=fmt or "PNG")
    return "resized", f"{size[0]}x{size[1]} -> {new_size[0]}x{new_size[1]}"


def _upright_size(image: Image.Image) -> tuple[int, int]:
    """Width and height after applying the EXIF orientation (5-8 swap the sides)."""
    orientation = image.getexif().get(0x0112, 1)
    width, height = image.size
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def downsize_tree(
    paths,
    source_root: Path,
    target_root: Path,
    limit: SizeLimit,
    *,
    workers: int | None = None,
    advance: Callable[[int], None] | None = None,
) -> dict[Path, tuple[str, str]]:
    """Write the downsized copy, each file at its path relative to source_root as listed (a
    linked class folder keeps its name), after checking every destination; {source path:
    (action, detail)}."""
    targets = plan_destinations(paths, source_root, target_root)
    jobs = [(str(p), str(t), limit) for p, t in targets.items()]
    results = parallel_map(_downsize_one, jobs, workers=workers, chunksize=4, advance=advance)
    return dict(zip(targets, results, strict=True))
