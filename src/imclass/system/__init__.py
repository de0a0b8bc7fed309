"""The machine imclass runs on: samples of its CPU, memory, disks and NVIDIA GPUs while it
works (monitor.py), kept in system.csv (log.py); what it has and how fast it does imclass's
work (doctor.py)."""

from imclass.system.log import SystemLog, read_system_log
from imclass.system.monitor import SAMPLE_EVERY, Monitor, monitored

__all__ = ["SAMPLE_EVERY", "Monitor", "SystemLog", "monitored", "read_system_log"]
