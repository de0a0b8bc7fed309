"""system.csv: a fixed header, whole appended lines, and a reader that trusts only those."""

from __future__ import annotations

import math

from imclass.system.log import SystemLog, read_system_log


def test_rows_read_back_as_numbers_and_a_failed_reading_as_nan(tmp_path):
    path = tmp_path / "system.csv"
    log = SystemLog(path, ("cpu_percent", "gpu0_power_w"))
    log.append({"time": 1700000000.04, "cpu_percent": 55.55, "gpu0_power_w": 300.0})
    log.append({"time": 1700000002.0, "cpu_percent": 60.0, "gpu0_power_w": math.nan})
    assert path.read_text().splitlines() == [
        "time,cpu_percent,gpu0_power_w",
        "1700000000.0,55.5,300.0",
        "1700000002.0,60.0,",
    ]
    rows = read_system_log(path)
    assert rows[0] == {"time": 1700000000.0, "cpu_percent": 55.5, "gpu0_power_w": 300.0}
    assert rows[1]["cpu_percent"] == 60.0 and math.isnan(rows[1]["gpu0_power_w"])


def test_a_line_still_being_written_or_damaged_is_not_read(tmp_path):
    path = tmp_path / "system.csv"
    SystemLog(path, ("cpu_percent",)).append({"time": 1.0, "cpu_percent": 2.0})
    with path.open("a") as handle:
        handle.write("3.0,x\n4.0\n5.0,6")  # not a number, too short, no newline yet
    assert read_system_log(path) == [{"time": 1.0, "cpu_percent": 2.0}]
    assert read_system_log(tmp_path / "none.csv") == []


def test_a_resumed_log_keeps_its_rows_unless_the_columns_changed(tmp_path):
    path = tmp_path / "system.csv"
    SystemLog(path, ("cpu_percent",)).append({"time": 1.0, "cpu_percent": 2.0})
    SystemLog(path, ("cpu_percent",), keep=True).append({"time": 3.0, "cpu_percent": 4.0})
    assert [row["time"] for row in read_system_log(path)] == [1.0, 3.0]
    SystemLog(path, ("cpu_percent", "gpu0_util_percent"), keep=True)  # another machine
    assert read_system_log(path) == []
    SystemLog(path, ("cpu_percent", "gpu0_util_percent")).append({"time": 5.0})
    SystemLog(path, ("cpu_percent", "gpu0_util_percent"))  # a new run: afresh
    assert path.read_text() == "time,cpu_percent,gpu0_util_percent\n"
