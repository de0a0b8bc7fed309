#!/usr/bin/env bash
# A few fine-tuning epochs on the GPUs present, then what the run measured: images/s and the
# fraction of step time spent waiting for data (history.csv), GPU utilisation (system.csv).
#
#   bench/gpu_check.sh [DATA [TRAIN OPTION...]]     e.g. bench/gpu_check.sh DATA --batch-size 64
#
# DATA defaults to ../shared/data/hymenoptera (beside the repository); EPOCHS=3 by default.
# Under torchrun with one process per GPU (nvidia-smi -L); without a GPU or torchrun, one
# plain process. PYTHON and TORCHRUN name the interpreter and launcher to use.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1
python=${PYTHON:-python}
torchrun=${TORCHRUN:-torchrun}
data=${1:-../shared/data/hymenoptera}
run=$(mktemp -d)/run
train=(train "$data" --out "$run" --epochs "${EPOCHS:-3}" --monitor-every 1 "${@:2}")
gpus=$( (nvidia-smi -L 2>/dev/null || true) | grep -c '^GPU' || true)

if [ "$gpus" -gt 0 ] && command -v "$torchrun" >/dev/null; then
    echo "== torchrun, $gpus process(es), one per GPU"
    "$torchrun" --standalone --nproc-per-node "$gpus" -m imclass "${train[@]}"
else
    echo "== no GPU or no torchrun: one process"
    "$python" -m imclass "${train[@]}"
fi

"$python" - "$run" <<'PY'
import math
import sys

from imclass.models.run_dir import RunDirectory
from imclass.system.log import read_system_log

run = RunDirectory(sys.argv[1])
epochs = [row for row in run.read_history() if row["phase"] == "finetune"]
samples = read_system_log(run.system_path)
print(f"== {run.path}")
for row in epochs:
    print(
        f"finetune epoch {row['epoch']}: {row['images_per_s']:.1f} images/s, "
        f"{row['data_wait_fraction']:.1%} of step time waiting for data"
    )
columns = samples[0] if samples else {}
gpus = sorted(c.removesuffix("_util_percent") for c in columns if c.endswith("_util_percent"))


def readings(column):
    return [s[column] for s in samples if not math.isnan(s.get(column, math.nan))] or [0.0]


for gpu in gpus:
    busy, memory = readings(f"{gpu}_util_percent"), max(readings(f"{gpu}_memory_used_mb")) / 1000
    print(
        f"{gpu}: utilisation mean {sum(busy) / len(busy):.0f}% max {max(busy):.0f}% "
        f"over {len(busy)} samples; memory up to {memory:.1f} GB"
    )
if not gpus:
    cpu = [s["cpu_percent"] for s in samples]
    mean = sum(cpu) / max(len(cpu), 1)
    print(f"no GPU columns in system.csv; machine CPU mean {mean:.0f}% over {len(cpu)} samples")
PY
