"""Experiments: learning curves, model comparisons, sweeps and hard-negative mining, each built
from points (experiments/points.py) scored on a held-out side no training decision touched."""
