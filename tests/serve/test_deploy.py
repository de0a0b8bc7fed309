"""deploy/: the Dockerfile runs exactly the command the service tests start (`imclass serve
/model --host 0.0.0.0 --port 8000`), as a non-root user with torch's CPU wheels; the Kubernetes
manifest's probes, ports and autoscaler point at the service's real routes and port. Docker and
a cluster are not needed: the files are read and checked against the server."""

import json
import re
from pathlib import Path

import yaml

from imclass.cli.serve import serve
from imclass.serve import ServeSettings, create_service

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMMAND = ["imclass", "serve", "/model", "--host", "0.0.0.0", "--port", "8000"]


def instructions(name: str) -> list[str]:
    """The Dockerfile's instructions, their continuation lines joined, comments left out."""
    text = re.sub(r"\\\n\s*", " ", (DEPLOY / "Dockerfile").read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines()]
    return [line.split(None, 1)[1] for line in lines if line.split(None, 1)[:1] == [name]]


def manifest() -> dict[str, dict]:
    with (DEPLOY / "k8s.yaml").open(encoding="utf-8") as handle:
        return {document["kind"]: document for document in yaml.safe_load_all(handle)}


def routes(tmp_path: Path) -> set[str]:
    app = create_service(ServeSettings(run_dir=tmp_path))  # the model loads only when served
    return {route.path for route in app.routes}


def test_the_container_runs_the_command_the_tests_run():
    assert [json.loads(cmd) for cmd in instructions("CMD")] == [COMMAND]
    context = serve.make_context("serve", COMMAND[2:])
    assert (context.params["host"], context.params["port"]) == ("0.0.0.0", 8000)
    assert instructions("EXPOSE") == ["8000"]


def test_the_image_is_slim_cpu_only_and_not_root():
    assert instructions("FROM")[0].endswith("-slim")
    assert any("download.pytorch.org/whl/cpu" in run for run in instructions("RUN"))
    assert instructions("USER") == ["10001"]
    (check,) = instructions("HEALTHCHECK")
    assert "http://127.0.0.1:8000/healthz" in check


def test_the_probes_and_ports_are_the_services(tmp_path):
    kinds = manifest()
    assert set(kinds) == {"Deployment", "Service", "HorizontalPodAutoscaler"}
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert "command" not in container and "args" not in container  # the image's CMD
    assert container["ports"] == [{"name": "http", "containerPort": 8000}]
    readiness, liveness = container["readinessProbe"], container["livenessProbe"]
    assert readiness["httpGet"] == {"path": "/readyz", "port": "http"}
    assert liveness["httpGet"] == {"path": "/healthz", "port": "http"}
    assert {"/readyz", "/healthz"} <= routes(tmp_path)
    assert pod["securityContext"]["runAsUser"] == 10001  # the Dockerfile's USER
    limits, requests = container["resources"]["limits"], container["resources"]["requests"]
    assert set(limits) == set(requests) == {"cpu", "memory"}


def test_the_service_and_autoscaler_point_at_the_deployment():
    kinds = manifest()
    deployment = kinds["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"] == labels
    service = kinds["Service"]["spec"]
    assert service["selector"] == labels and service["ports"][0]["targetPort"] == "http"
    target = kinds["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
