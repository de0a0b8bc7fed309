"""The Label page's grid shows where each collected image came from (the data folder's
manifest.csv, written by imclass collect), as text: that text came from the internet."""

from pathlib import Path

import pytest
from tests.helpers import AppServer, open_label_page, scene

from imclass.collect.manifest import Row, write_manifest

pytestmark = pytest.mark.slow  # a server process and Chromium: a few seconds

HOSTILE = "<img src=x onerror=alert(1)>"


def collected(root: Path) -> Path:
    """blouse/0.jpg from Openverse, blouse/1.jpg from Commons with a hostile creator and a
    javascript: page URL, blouse/2.jpg put there by hand (no manifest row)."""
    (root / "blouse").mkdir(parents=True)
    for i in range(3):
        scene(i).save(root / "blouse" / f"{i}.jpg", quality=85)
    source = dict(query="striped blouse", item="blouse", attribute="striped", width=320)
    source |= dict(height=240, bytes=0, sha256="", attribution="", status="kept", reason="")
    rows = [
        Row("blouse/0.jpg", "openverse", url="https://img.example.org/0.jpg",
            page_url="https://example.org/photo/0", licence="CC BY 4.0",
            licence_url="https://creativecommons.org/licenses/by/4.0/", creator="Ann Example",
            **source),
        Row("blouse/1.jpg", "wikimedia", url="https://img.example.org/1.jpg",
            page_url="javascript:alert(2)", licence="", licence_url="", creator=HOSTILE,
            **source),
    ]  # fmt: skip
    write_manifest(root, {row.url: row for row in rows})
    return root


def test_the_grid_shows_each_collected_images_source_as_text(tmp_path, browser):
    data = collected(tmp_path / "shirts")
    with AppServer(data) as server:
        page = open_label_page(browser, server)
        dialogs = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.keyboard.press("g")
        page.select_option("#grid-filter", "blouse")
        page.wait_for_selector(".cell-source")
        cells = page.eval_on_selector_all(
            ".cell",
            """cells => cells.map(cell => [cell.querySelector('.cell-name').textContent,
                cell.querySelector('.cell-source')?.textContent ?? null])""",
        )
        assert cells == [
            ["blouse/0.jpg", "openverse · CC BY 4.0 · Ann Example"],
            ["blouse/1.jpg", f"wikimedia · licence unknown · {HOSTILE}"],
            ["blouse/2.jpg", None],
        ]
        links = page.eval_on_selector_all(
            ".cell-source a",
            "links => links.map(a => [a.className, a.href, a.target, a.rel])",
        )
        assert links == [
            ["source-provider", "https://example.org/photo/0", "_blank", "noopener noreferrer"],
            ["source-licence", "https://creativecommons.org/licenses/by/4.0/", "_blank",
             "noopener noreferrer"],
        ]  # fmt: skip
        assert page.locator("#grid img").count() == 3  # the thumbnails; no <img> from the text
        page.wait_for_timeout(300)  # an injected image's onerror would have fired by now
        assert dialogs == []
        page.screenshot(path=str(tmp_path / "label-grid-sources.png"))
