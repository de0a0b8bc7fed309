"""Running a model: where the arithmetic runs (device.py) and batched passes over a loader
(batches.py). Below training, evaluation and prediction, which all use it; it uses models and
data only."""
