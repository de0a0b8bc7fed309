"""The doctor's findings: the CPU from /proc/cpuinfo, and the advice its measurements lead to."""

import pytest

from imclass.system.doctor import advice, examine_cpu
from imclass.system.storage import Storage
from imclass.system.throughput import ImageSizes, Throughput, spread

CPUINFO = """processor	: 0
physical id	: 0
core id	: 0
model name	: Example CPU @ 2.0GHz
flags		: fpu sse4_2 avx avx2 fma avx512f avx512_vnni amx_tile amx_int8

processor	: 1
physical id	: 0
core id	: 1
model name	: Example CPU @ 2.0GHz
flags		: fpu sse4_2 avx avx2 fma avx512f avx512_vnni amx_tile amx_int8

processor	: 2
physical id	: 0
core id	: 0
model name	: Example CPU @ 2.0GHz
flags		: fpu sse4_2 avx avx2 fma avx512f avx512_vnni amx_tile amx_int8
"""
LOCAL_SSD = Storage("/", "ext4", "/dev/nvme0n1p1", network=False, rotational=False)
NETWORK = Storage("/mnt/photos", "nfs4", "nas:/photos", network=True, rotational=None)


def test_cpu_model_cores_and_instruction_sets_from_cpuinfo(tmp_path):
    (tmp_path / "cpuinfo").write_text(CPUINFO)
    cpu = examine_cpu(tmp_path / "cpuinfo")
    assert cpu.model == "Example CPU @ 2.0GHz" and cpu.physical_cores == 2
    wanted = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "amx_tile", "amx_int8")
    assert cpu.instruction_sets == wanted
    assert examine_cpu(tmp_path / "missing").instruction_sets == ()


def speed(decode: float, model: float, device: str = "cuda:0") -> Throughput:
    runtime = "onnx" if device == "cpu" else "torch"
    return Throughput(decode, 16, 2, "tf_efficientnet_lite0", 224, True, runtime, device, model, 32)


@pytest.mark.parametrize(
    ("throughput", "sizes", "storage", "starts", "names"),
    [
        (speed(50, 400), ImageSizes(10, 10, 10, 0), NETWORK, "decode-bound: decoding takes 8.0x",
         ["imclass downsize", "--cache", "local SSD"]),
        (speed(400, 500), ImageSizes(10, 10, 0, 0), LOCAL_SSD, "decode-bound: decoding takes 1.2x",
         ["--cache"]),
        (speed(50, 25, "cpu"), ImageSizes(10, 10, 4, 0), LOCAL_SSD,
         "compute-bound, but decoding shares the cores and takes 33% of the time",
         ["imclass downsize"]),
        (speed(50, 25), ImageSizes(10, 10, 4, 0), LOCAL_SSD, "compute-bound: the model", []),
        # one large photo among 398 (hymenoptera): decoding's share is the small ones'
        (speed(130, 15, "cpu"), ImageSizes(398, 398, 1, 0), LOCAL_SSD,
         "compute-bound: the model", []),
    ],
)  # fmt: skip
def test_the_advice_follows_the_measurements(throughput, sizes, storage, starts, names):
    line = advice(throughput, sizes, storage)
    assert line.startswith(starts) and all(name in line for name in names)
    assert ("local SSD" in line) == ("local SSD" in names)


def test_a_sample_is_spread_over_the_whole_list():
    assert spread(list(range(10)), 4) == [0, 2, 5, 7]
    assert spread([1, 2], 4) == [1, 2]
