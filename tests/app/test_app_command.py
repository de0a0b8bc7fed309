"""`imclass app` refuses what it cannot serve in one line, before it listens."""

import socket

from tests.helpers import invoke, make_image_folder, one_error_line


def test_missing_or_empty_data_is_one_line(tmp_path):
    missing = invoke("app", tmp_path / "nope", "--port", "0")
    assert "no such file or folder" in one_error_line(missing)
    (tmp_path / "empty").mkdir()
    assert "no images found" in one_error_line(invoke("app", tmp_path / "empty", "--port", "0"))
    assert not (tmp_path / "empty" / "annotations.tsv").exists()


def test_a_taken_port_or_a_bad_class_is_one_line(tmp_path):
    data = make_image_folder(tmp_path / "photos", per_class=1)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_error_line(invoke("app", data, "--port", str(port)))
    assert f"cannot listen on 127.0.0.1:{port}" in line
    line = one_error_line(invoke("app", data, "--port", "0", "--classes", "a\tb,c"))
    assert "is not allowed" in line


def test_the_printed_address_leads_to_the_page_there_is_something_for(tmp_path):
    from imclass.app.settings import AppSettings

    assert AppSettings(token="t", data=tmp_path).start_page == "/label"
    assert AppSettings(token="t", runs_dir=tmp_path).start_page == "/runs"
    assert AppSettings(token="t", runs=(tmp_path,)).start_page == "/runs"
    assert AppSettings(token="t").start_page == "/live"  # ImageNet needs nothing
