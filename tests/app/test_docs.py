"""/docs: the API's OpenAPI viewer works offline (its assets are served by the app)."""

import httpx
from tests.helpers import AppServer, scene


def test_the_api_docs_and_their_assets_come_from_the_app(tmp_path):
    data = tmp_path / "photos"
    data.mkdir()
    scene(0).save(data / "a.jpg")
    with (
        AppServer(data) as server,
        httpx.Client(base_url=server.base, headers={"X-Imclass-Token": server.token}) as web,
    ):
        page = web.get("/docs")
        assert page.status_code == 200
        assert "/docs-assets/swagger-ui-bundle.js" in page.text
        assert "cdn" not in page.text.lower()
        script = web.get("/docs-assets/swagger-ui-bundle.js")
        assert script.status_code == 200 and len(script.content) > 100_000
        schema = web.get("/openapi.json").json()
        assert "/api/predict" in schema["paths"] and "/api/labels" in schema["paths"]
        assert httpx.get(f"{server.base}/docs").status_code == 401  # no token
