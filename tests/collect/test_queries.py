import pytest

from imclass.collect.queries import (
    QuerySpec,
    dry_run_lines,
    plan_queries,
    read_queries_file,
    split_list,
)
from imclass.errors import ConfigError

ITEMS = ("blouse", "hoodie", "pullover", "sweater", "t-shirt", "tank top", "cardigan")
ATTRIBUTES = ("striped", "dotted", "leopard")


def test_seven_items_by_three_attributes_make_21_queries_into_item_folders():
    queries = plan_queries(QuerySpec(ITEMS, ATTRIBUTES))
    assert len(queries) == 21
    assert queries[0].text == "striped blouse" and queries[0].folder == "blouse"
    assert queries[-1].text == "leopard cardigan"
    assert queries[13].folder == "t-shirt" and queries[16].folder == "tank_top"
    assert {q.folder for q in queries} == {i.replace(" ", "_") for i in ITEMS}


def test_bare_template_and_by_query():
    template = "{item} {attribute}"
    spec = QuerySpec(("blouse",), ("striped",), template=template, bare=True, by="query")
    queries = plan_queries(spec)
    assert [(q.text, q.folder) for q in queries] == [
        ("blouse striped", "blouse_striped"),
        ("blouse", "blouse"),
    ]


def test_queries_file_with_extras(tmp_path):
    path = tmp_path / "queries.yaml"
    path.write_text("items: [blouse, hoodie]\nattributes: [striped]\nextras: {hoodie: [zipped]}\n")
    queries = plan_queries(QuerySpec(**read_queries_file(path)))
    assert [q.text for q in queries] == ["striped blouse", "striped hoodie", "zipped hoodie"]


def test_mistakes_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="Did you mean 'query'"):
        plan_queries(QuerySpec(("a",), by="querry"))
    with pytest.raises(ConfigError, match="must contain"):
        plan_queries(QuerySpec(("a",), template="{attribute}"))
    (tmp_path / "q.yaml").write_text("itmes: [a]\n")
    with pytest.raises(ConfigError, match="Did you mean 'items'"):
        read_queries_file(tmp_path / "q.yaml")


def test_split_list_and_dry_run_lines():
    assert split_list("blouse, hoodie,,pullover") == ("blouse", "hoodie", "pullover")
    queries = plan_queries(QuerySpec(("blouse",), ("striped",)))
    assert dry_run_lines(queries, lambda q: f"GET /?q={q}") == [
        "'striped blouse' -> blouse/  GET /?q=striped blouse"
    ]
