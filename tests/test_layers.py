"""The package's layers import downwards only: no cycle between data, models, inference,
train, evaluate, the API (classifier, demo), the web app and the prediction service (and web/, what
they share), the CLI and the package root."""

import ast
from pathlib import Path

import imclass

PACKAGE = Path(imclass.__file__).parent
# modules every layer may use, which import nothing of imclass's layers themselves
BASE = {"errors", "files", "progress", "_version"}
API = {"classifier", "demo"}


def layer_of(module: str) -> str | None:
    """'imclass.train.run' -> 'train'; None for the base modules everything may use."""
    parts = module.split(".")
    if parts[0] != "imclass":
        return None
    if len(parts) == 1:
        return "root"
    top = parts[1]
    if top in BASE:
        return None
    if top in API:
        return "api"
    if top.startswith("cli") or top == "__main__":
        return "cli"
    return top


def imported_modules(path: Path) -> set[str]:
    """Every imclass module the file imports, at the top or inside functions alike."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: a relative import; imclass uses absolute ones")
    return {m for m in found if m.split(".")[0] == "imclass"}


def layer_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        source = layer_of(module)
        if source is None:
            continue
        targets = {layer_of(m) for m in imported_modules(path)} - {None, source}
        graph.setdefault(source, set()).update(targets)
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of the graph as a path, or []."""
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = "done"
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return []


def test_the_layers_have_no_import_cycle():
    graph = layer_graph()
    assert {"data", "models", "inference", "train", "evaluate", "cli"} <= set(graph)
    assert cycle(graph) == [], " -> ".join(cycle(graph))


def test_inference_uses_data_and_models_only():
    """Never train, evaluate or predict: those stand on inference, not the other way."""
    assert layer_graph()["inference"] <= {"data", "models"}


def test_evaluation_and_prediction_stand_below_training():
    graph = layer_graph()
    for lower in ("data", "models", "inference", "evaluate"):
        assert "train" not in graph.get(lower, set()), f"{lower} imports train"


def test_the_app_stands_on_top_beside_the_cli():
    """The web app may use every library layer; of the CLI only cli/app.py starts it."""
    graph = layer_graph()
    assert "app" in graph
    assert "cli" not in graph["app"] and "root" not in graph["app"]
    assert all("app" not in graph[layer] for layer in graph if layer != "cli")
    users = sorted(
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if any(layer_of(m) == "app" for m in imported_modules(path))
        and path.relative_to(PACKAGE).parts[0] != "app"
    )
    assert users == ["cli/app.py"]


def test_the_cycle_finder_finds_one():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) == []


def test_collect_stands_on_data_and_only_the_top_layers_use_it():
    """imclass collect (issue 12) builds a data set: it may use data/; its command runs it,
    and `imclass info` and the app's grid read the sources in its manifest."""
    graph = layer_graph()
    assert graph["collect"] <= {"data"}
    users = sorted(
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if any(layer_of(m) == "collect" for m in imported_modules(path))
        and path.relative_to(PACKAGE).parts[0] != "collect"
    )
    assert users == ["app/label_api.py", "app/server.py", "cli/collect.py", "cli/data.py"]


def users_of(layer: str) -> list[str]:
    """The files outside layer that import it."""
    return sorted(
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if any(layer_of(m) == layer for m in imported_modules(path))
        and path.relative_to(PACKAGE).parts[0] != layer
    )


def test_web_stands_below_both_servers_and_serve_beside_the_app():
    """What the app and `imclass serve` share lives in web/ (and inference/answers.py), below
    both: neither server imports the other, and only its command starts the service."""
    graph = layer_graph()
    assert graph["web"] <= {"data"}
    assert {path.split("/")[0] for path in users_of("web")} == {"app", "serve"}
    assert graph["serve"] <= {"data", "models", "inference", "web"}
    assert users_of("serve") == ["cli/serve.py"]
    assert "serve" not in graph["app"]
