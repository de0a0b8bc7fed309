"""Knowing how good a model is: metrics, plots and the one-file HTML report."""

from imclass.evaluate.evaluator import evaluate_run, write_evaluation
from imclass.evaluate.metrics import classification_metrics

__all__ = ["classification_metrics", "evaluate_run", "write_evaluation"]
