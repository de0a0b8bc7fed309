"""The model's suggestions on the Label page (`imclass app DATA --run RUN_DIR`): each image's
class probabilities from the run, computed in a background thread in small batches — the images
the page is about to show first, then the unlabelled ones, then the rest — and kept in memory.
The page never waits for them: it is answered with what is known and asks again.

The run's classes meet the labelling classes by name: a class the run does not know is never
suggested, nor is one of the run's that the labeller does not have.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imclass.app.catalog import Catalog
from imclass.app.labels import ImageLabel, LabelStore
from imclass.inference.decisions import decide
from imclass.models.run_dir import ModelSpec, RunDirectory

BATCH = 8  # an image the page asks for waits behind at most one batch: ~0.2 s on a laptop CPU
TOP = 3  # probabilities shown beside the suggestion
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Suggestion:
    """labels: the classes to pre-select (single-label: at most one); top: the run's most
    probable classes with their probabilities; confidence: the top probability."""

    labels: tuple[str, ...]
    top: tuple[tuple[str, float], ...]
    confidence: float

    def as_json(self) -> dict:
        return {
            "labels": list(self.labels),
            "top": [[name, p] for name, p in self.top],
            "confidence": self.confidence,
        }


class Suggester:
    """A run's probabilities for the images under root, named by their paths relative to it.

    `start(order)` begins the background work; `ask(names)` puts names first in line and answers
    with those already known. The model is loaded in the background thread, on first need."""

    def __init__(self, run_dir: Path, root: Path):
        self.run_dir = Path(run_dir)
        self.spec: ModelSpec = RunDirectory(run_dir).read_spec()  # a bad run fails at start
        self._thresholds = self.spec.decision_thresholds()
        self.root = Path(root)
        self._probs: dict[str, np.ndarray | None] = {}  # None: the file did not decode
        self._wanted: deque[str] = deque()
        self._rest: deque[str] = deque()
        self._wake = threading.Condition()
        self.error: str | None = None  # why no more suggestions come (the model did not load)

    def start(self, order: Iterable[str]) -> None:
        """Predict every image in order, after the ones asked for."""
        with self._wake:
            self._rest.extend(order)
        threading.Thread(target=self._work, name="imclass-suggestions", daemon=True).start()

    def ask(self, names: Sequence[str]) -> dict[str, np.ndarray | None]:
        """The probabilities known for names; the others go to the front of the line, the
        first name first."""
        with self._wake:
            known = {name: self._probs[name] for name in names if name in self._probs}
            self._wanted.extendleft(reversed([name for name in names if name not in known]))
            self._wake.notify()
        return known

    def predicted(self) -> int:
        with self._wake:
            return len(self._probs)

    def known(self) -> dict[str, np.ndarray | None]:
        """Every probability row computed so far."""
        with self._wake:
            return dict(self._probs)

    def suggest(self, probs: np.ndarray | None, classes: Sequence[str]) -> Suggestion | None:
        """What the page pre-selects, given the labelling classes; None for an unreadable file."""
        if probs is None:
            return None
        names, spec = self.spec.classes, self.spec
        order = np.argsort(-probs)
        decided = decide(probs[None], multilabel=spec.multilabel, thresholds=self._thresholds)[0]
        on = decided if spec.multilabel else np.arange(len(names)) == decided
        labels = tuple(names[i] for i in order if on[i] and names[i] in classes)
        top = tuple((names[i], float(probs[i])) for i in order[:TOP])
        return Suggestion(labels, top, float(probs[order[0]]))

    @staticmethod
    def unlabelled_first(catalog: Catalog, store: LabelStore) -> list[str]:
        """The catalog's images, those neither labelled nor excluded first."""
        images = store.snapshot()[1]
        left = {name for name in catalog.images if images.get(name, ImageLabel()).status == "left"}
        return sorted(catalog.images, key=lambda name: name not in left)

    def mismatch(self, classes: Sequence[str]) -> str | None:
        """One line when the run and the labelling share no class, else None."""
        if not classes or set(classes) & set(self.spec.classes):
            return None
        return (
            f"warning: the run {self.run_dir} knows none of the classes "
            f"({', '.join(classes)}); its classes are {', '.join(self.spec.classes)}: "
            "no suggestions"
        )

    # the background thread ---------------------------------------------------------------------

    def _work(self) -> None:
        try:
            predictor = _load_predictor(self.run_dir)
        except Exception as error:  # noqa: BLE001 - the page shows it; the labelling goes on
            self.error = f"the model did not load: {error}"
            return
        while batch := self._next_batch():
            try:
                result = predictor.probabilities([self.root / name for name in batch])
                readable = set(result.readable.tolist())
            except Exception:  # noqa: BLE001 - one bad batch costs its suggestions only
                log.exception("no suggestions for %d images from %s on", len(batch), batch[0])
                readable = set()
            with self._wake:
                for row, name in enumerate(batch):
                    self._probs[name] = result.probs[row] if row in readable else None

    def _next_batch(self) -> list[str]:
        """Up to BATCH names not yet predicted, the asked-for first; waits while none is left."""
        with self._wake:
            while True:
                batch = self._take(self._wanted, [])
                batch = self._take(self._rest, batch)
                if batch:
                    return batch
                self._wake.wait()

    def _take(self, line: deque[str], batch: list[str]) -> list[str]:
        while line and len(batch) < BATCH:
            name = line.popleft()
            if name not in self._probs and name not in batch:
                batch.append(name)
        return batch


def _load_predictor(run_dir: Path):
    from imclass.inference import Predictor

    return Predictor.from_run_dir(run_dir, batch_size=BATCH, workers=0)
