"""Pieces of the one-file HTML report: inlined images, thumbnails, the page around sections."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from imclass.data.images import UnreadableImage, load_rgb

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse}
td,th{padding:.25em .7em;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child{text-align:left}.grid{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;width:160px;font-size:12px}figure img{width:160px;height:160px;object-fit:cover}
.bad{color:#b00}
"""


def image_tag(png: bytes, alt: str) -> str:
    encoded = base64.b64encode(png).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def thumbnail_tag(path: Path) -> str:
    try:
        picture = load_rgb(path, min_size=160)
    except UnreadableImage:
        return ""
    picture.thumbnail((160, 160))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=80)
    return (
        f'<img alt="" src="data:image/jpeg;base64,{base64.b64encode(buffer.getvalue()).decode()}">'
    )


def figure_card(path, caption_html: str) -> str:
    """A thumbnail with the file name and a caption (already escaped HTML)."""
    name = html.escape(Path(path).name)
    return (
        f"<figure>{thumbnail_tag(path)}<figcaption>{name}<br>{caption_html}</figcaption></figure>"
    )


def page(title: str, sections: list[tuple[str, str, str]]) -> str:
    """The whole document: (id, heading, html) sections in order."""
    body = "".join(
        f'<section id="{sid}"><h2>{name}</h2>{content}</section>' for sid, name, content in sections
    )
    return (
        f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}"
        f"</title><style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}"
        f"</body></html>\n"
    )


def figures_table(figures: dict[str, float], n_images: int) -> str:
    """The report's summary: one row per figure (name with spaces, value to 4 places)."""
    cells = "".join(
        f"<tr><td>{html.escape(name.replace('_', ' '))}</td><td>{value:.4f}</td></tr>"
        for name, value in figures.items()
    )
    return f"<table>{cells}<tr><td>images</td><td>{n_images}</td></tr></table>"
