"""Hard-negative mining (issue 13): a model with a negative class is shown a pool of images that
hold none of its classes; the ones it calls a class are added to the negative class and the
model is trained again, round after round.

Round 0 trains RUN's settings on the held-out split's training side, so that every round,
the first included, is scored the same way: accuracy on the held-out labelled side, and the
false-positive rate on the part of the pool that is never mined. Round r (r >= 1) mines with
round r - 1's model, then trains on the training side plus every negative mined so far.
Finished rounds are kept under out/rounds/<r>/ and never redone: a re-run resumes, and a
re-run with more --rounds continues.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from imclass.data.dataset import ImageSet, LabelOptions
from imclass.errors import (
    ConfigError,
    OutputError,
    did_you_mean,
    invalid_parameter,
)
from imclass.evaluate.plots import new_figure, png_bytes
from imclass.experiments.points import HeldOut, held_out_split, start_experiment, train_point
from imclass.experiments.pool import (
    Mined,
    PoolSplit,
    check_apart,
    false_positive_rate,
    positives,
    read_mined,
    split_pool,
    write_mined,
    write_pool_split,
)
from imclass.files import check_output, read_json, write_bytes, write_json, write_text
from imclass.inference import Predictor
from imclass.progress import Reporter, interrupt_ends_with
from imclass.train.config import TrainConfig
from imclass.train.run import read_config

# A class with one of these names (any case) is the negative class unless --negative-class.
NEGATIVE_NAMES = frozenset({"none", "negative", "negatives", "background", "other", "others"})
ROUND_COLUMNS = ("round", "mined_total", "false_positive_rate", "accuracy", "seconds")
ROUNDS_TABLE, ROUNDS_PLOT = "rounds.csv", "rounds.png"
MINED_FILE, POOL_SCORE_FILE, POOL_SPLIT_FILE = "mined.csv", "pool.json", "pool.csv"
DATA_FOLDER, MINED_FOLDER = "data", "hard-negatives"


@dataclass(frozen=True)
class MiningPlan:
    """What the user chose. negative None: the class named like none/negative/background/
    other. A pool image is mined when the model's decision is another class and that class's
    probability is at least confidence (0.5: a mistake the model would stand behind)."""

    negative: str | None = None
    confidence: float = 0.5
    rounds: int = 2
    pool_test_fraction: float = 0.3
    test_fraction: float = 0.25
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.confidence <= 1:
            raise invalid_parameter("confidence", "hard-negatives", "in [0, 1]", self.confidence)
        if self.rounds < 1:
            raise invalid_parameter("rounds", "hard-negatives", "an int >= 1", self.rounds)


@dataclass(frozen=True)
class MiningJob:
    """Everything a mining experiment works from, resolved before any work starts."""

    run: Path
    pool_dir: Path
    held: HeldOut
    pool: PoolSplit
    negative: str
    config: TrainConfig
    options: LabelOptions
    plan: MiningPlan

    @property
    def negative_index(self) -> int:
        return self.held.classes.index(self.negative)

    def description(self) -> dict:
        """What makes two runs into one folder the same experiment: not --rounds (more rounds
        continue it), nor the settings of where and how fast (device, workers). Flat, so
        that a difference is named by its setting."""
        plan = {k: v for k, v in asdict(self.plan).items() if k not in ("negative", "rounds")}
        train = {k: v for k, v in self.config.to_dict().items() if k not in ("device", "workers")}
        return {
            "experiment": "hard-negatives",
            "run": str(self.run),
            "data": str(self.held.source.root),
            "pool": str(self.pool_dir),
            "negative_class": self.negative,
            **plan,
            **{f"train.{k}": v for k, v in train.items()},
            **{f"data_options.{k}": v for k, v in asdict(self.options).items()},
        }


def resolve_mining(
    run: Path | str,
    pool: Path | str,
    out: Path | str,
    plan: MiningPlan,
    settings: dict | None = None,
    options: LabelOptions | None = None,
) -> MiningJob:
    """RUN's data, settings (with `settings` over them) and label options (the ones given in
    `options` win), the held-out split, the negative class and the pool's split, checked."""
    run = Path(run).absolute()
    data, config, recorded = read_config(run)
    options = merged_options(recorded, options)
    held = held_out_split(data, plan.test_fraction, plan.seed, options)
    if held.source.multilabel:
        raise ConfigError(f"{run}: a multi-label model; hard-negatives needs a single-label one")
    negative = negative_class(held.classes, plan.negative, run)
    split = split_pool(pool, plan.pool_test_fraction, plan.seed)
    check_apart(split, held.source.all_images(), pool)
    # out may hold this experiment already (start_experiment resumes it or refuses another)
    check_output(out, [run, data, pool], kind="folder", overwrite=True)
    config = replace(config, **(settings or {}))
    return MiningJob(run, Path(pool).absolute(), held, split, negative, config, options, plan)


def merged_options(recorded: LabelOptions, given: LabelOptions | None) -> LabelOptions:
    """RUN's label options, with each one given (not None, not False) in its place."""
    if given is None:
        return recorded
    values = {f.name: getattr(given, f.name) for f in fields(LabelOptions)}
    kept = {k: v for k, v in values.items() if v is not None and v is not False}
    return replace(recorded, **kept)


def negative_class(classes: tuple[str, ...], name: str | None, run: Path | str) -> str:
    """name, which must be one of classes; or the one class named like a negative one."""
    listed = ", ".join(classes)
    if name is not None:
        if name not in classes:
            raise ConfigError(
                f"--negative-class {name!r} is not a class of {run} ({listed})."
                + did_you_mean(name, classes)
            )
        return name
    found = [c for c in classes if c.lower() in NEGATIVE_NAMES]
    if len(found) != 1:
        named = "several classes are" if found else "no class is"
        raise ConfigError(
            f"{run}: {named} named like none/negative/background/other among its classes "
            f"({listed}); pass --negative-class NAME"
        )
    return found[0]


def mine_hard_negatives(
    job: MiningJob, out: Path | str, reporter: Reporter | None = None
) -> list[dict]:
    """Round 0 and job.plan.rounds rounds of mining (fewer when a round mines nothing new);
    returns their rows of rounds.csv, which (with rounds.png) is rewritten after each one."""
    out = start_experiment(out, job.description())
    write_pool_split(out / POOL_SPLIT_FILE, job.pool)
    reporter = reporter or Reporter(quiet=True)
    for note in job.pool.notes:
        reporter.warn(note)
    hint = f"interrupted; {out} keeps every finished round: run the same command to resume"
    with interrupt_ends_with(lambda: hint):
        return _run_rounds(job, out, reporter)


def _run_rounds(job: MiningJob, out: Path, reporter: Reporter) -> list[dict]:
    mined: list[Mined] = []
    rows: list[dict] = []
    for number in range(job.plan.rounds + 1):
        folder = _round_folder(out, number)
        if number:
            new = _mine_round(job, out, number, mined, reporter)
            if not new:
                reporter.line(
                    f"round {number}: round {number - 1}'s model calls no pool image left a "
                    f"class with probability >= {job.plan.confidence}; stopping"
                )
                break
            mined += new
            reporter.line(f"round {number}: {len(new)} pool images mined, {len(mined)} in all")
        link_training_set(out / DATA_FOLDER, job, mined)
        rows.append(_train_round(job, folder, number, mined, reporter))
        write_rounds(out, rows)
    return rows


def _round_folder(out: Path, number: int) -> Path:
    return out / "rounds" / str(number)


def _mine_round(
    job: MiningJob, out: Path, number: int, mined: list[Mined], reporter: Reporter
) -> list[Mined]:
    """The pool images not mined yet that round number - 1's model calls a class with at least
    the plan's confidence, most confident first; kept in the round's mined.csv (read back on a
    re-run)."""
    path = _round_folder(out, number) / MINED_FILE
    if path.is_file():
        return read_mined(path)
    taken = {m.path for m in mined}
    candidates = [p for p in job.pool.mine if p not in taken]
    new: list[Mined] = []
    if candidates:
        model = _predictor(job, _round_folder(out, number - 1) / "run")
        found, _ = positives(model, candidates, job.negative_index, reporter)
        new = [m for m in found if m.probability >= job.plan.confidence]
    new.sort(key=lambda m: -m.probability)
    write_mined(path, new)
    return new


def _train_round(
    job: MiningJob, folder: Path, number: int, mined: list[Mined], reporter: Reporter
) -> dict:
    train = with_negatives(job.held.train, mined, job.negative_index)
    reporter.line(
        f"round {number}: {len(job.held.train)} data set images and {len(mined)} mined ones "
        f"in {job.negative!r}"
    )
    point = train_point(job.held, train, folder, job.config, reporter)
    pool = _score_pool(job, folder, reporter)
    return {
        "round": number,
        "mined_total": len(mined),
        "false_positive_rate": pool["false_positive_rate"],
        "accuracy": point["accuracy"],
        "seconds": point["seconds"],
    }


def _score_pool(job: MiningJob, folder: Path, reporter: Reporter) -> dict:
    """The round's model on the never-mined pool images; kept in folder/pool.json."""
    path = folder / POOL_SCORE_FILE
    if path.is_file():
        return read_json(path)
    paths = list(job.pool.test)
    found, read = positives(_predictor(job, folder / "run"), paths, job.negative_index, reporter)
    score = {
        "false_positives": len(found),
        "images_read": read,
        "false_positive_rate": false_positive_rate(len(found), read, job.pool_dir),
    }
    write_json(path, score)
    return score


def _predictor(job: MiningJob, run_dir: Path) -> Predictor:
    return Predictor.from_run_dir(run_dir, device=job.config.device, workers=job.config.workers)


def with_negatives(train: ImageSet, mined: list[Mined], negative: int) -> ImageSet:
    paths = (*train.paths, *(m.path for m in mined))
    return ImageSet(paths, (*train.labels, *(negative,) * len(mined)))


def link_training_set(folder: Path, job: MiningJob, mined: list[Mined]) -> None:
    """folder/train/<class>/ and folder/test/<class>/: links to the data set's images (its
    training and held-out sides, each under its path in the data set) and to the mined ones
    (train/<negative>/hard-negatives/<path in the pool>), the data set the latest round trained
    on, for `imclass train`. Links only: the user's files are never copied, moved or changed."""
    held, base = job.held, job.held.source.folder
    for side, images in (("train", held.train), ("test", held.test)):
        for path, label in zip(images.paths, images.labels, strict=True):
            _link(folder / side / held.classes[label] / _inside(path, base), Path(path))
    negatives = folder / "train" / job.negative / MINED_FOLDER
    for m in mined:
        _link(negatives / _inside(m.path, job.pool_dir), m.path)


def _inside(path: Path | str, base: Path) -> Path:
    """path relative to base, or its name alone when it is not inside."""
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(base))
    return Path(Path(path).name if relative.startswith("..") or relative == "." else relative)


def _link(link: Path, target: Path) -> None:
    """A symbolic link to target (absolute), made once; a link already there must match."""
    target = target.absolute()
    if link.is_symlink() and os.readlink(link) == str(target):
        return
    if link.exists() or link.is_symlink():
        raise OutputError(
            f"{link}: exists and is not a link to {target}; remove it or use another --out"
        )
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)


def write_rounds(out: Path, rows: list[dict]) -> None:
    """rounds.csv and rounds.png, from every round so far."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ROUND_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                **row,
                "false_positive_rate": f"{row['false_positive_rate']:.4f}",
                "accuracy": f"{row['accuracy']:.4f}",
                "seconds": f"{row['seconds']:.1f}",
            }
        )
    write_text(out / ROUNDS_TABLE, buffer.getvalue())
    write_bytes(out / ROUNDS_PLOT, rounds_plot(rows))


def rounds_plot(rows: list[dict]) -> bytes:
    """The false-positive rate on the never-mined pool images and the held-out accuracy, by
    round (with the negatives mined so far under each round's number)."""
    figure = new_figure((9, 3.6))
    rate_ax, accuracy_ax = figure.subplots(1, 2)
    x = [row["round"] for row in rows]
    ticks = [f"{row['round']}\n({row['mined_total']} mined)" for row in rows]
    for ax, key, label in (
        (rate_ax, "false_positive_rate", "false-positive rate, held-out pool"),
        (accuracy_ax, "accuracy", "accuracy, held-out labelled images"),
    ):
        ax.plot(x, [row[key] for row in rows], marker="o")
        ax.set_xticks(x, ticks)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("round")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    return png_bytes(figure)
