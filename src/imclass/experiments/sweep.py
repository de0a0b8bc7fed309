"""`imclass sweep`: training settings searched with optuna. Each configuration is trained R
times (seeds SEED..SEED+R-1) on the same training side and scored by the mean of its held-out
scores, never by its best repeat; each training is an ordinary experiment point under
OUT/trials/<trial>-<repeat>/, so an interrupted sweep resumes where it stopped."""

from __future__ import annotations

import functools
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

import optuna

from imclass.data.dataset import LabelOptions
from imclass.errors import ConfigError
from imclass.experiments.points import HeldOut, held_out_split, start_experiment, train_point
from imclass.experiments.space import SearchSpace, read_space
from imclass.experiments.study import (
    FOLDER,
    claim,
    database_errors,
    fail_lost_trials,
    make_sampler,
    open_study,
    requeue_failed,
    shown_url,
    storage_url,
    work_left,
)
from imclass.experiments.sweep_report import (
    SCORES,
    SECONDS,
    TRIALS,
    SweepReport,
    shown_value,
    write_report,
)
from imclass.progress import Reporter, interrupt_ends_with
from imclass.train.config import TrainConfig

SAMPLERS = ("grid", "random", "tpe")
DEFAULT_STUDY = "sweep"
# A sampler that keeps proposing configurations already trained (TPE on a small space does)
# stops after this many in a row instead of asking for ever.
MAX_SKIPS_IN_A_ROW = 100
# How a machine runs a training, not what it learns: workers of one study may differ in these.
MACHINE_SETTINGS = ("workers", "device", "cache")


@dataclass(frozen=True)
class SweepPlan:
    """Everything a sweep does, resolved: plan_sweep() makes one from the command's arguments."""

    data: Path
    space: SearchSpace
    out: Path
    sampler: str
    trials: int  # configurations to train, by every worker of the study together
    repeats: int = 1
    seed: int = 0
    test_fraction: float = 0.25
    settings: dict = field(default_factory=dict)  # --set: the same for every trial
    options: LabelOptions = field(default_factory=LabelOptions)
    storage: str | None = None  # None: OUT/study.db
    study_name: str | None = None  # None: see name

    @property
    def url(self) -> str:
        return storage_url(self.storage, self.out)

    @property
    def name(self) -> str:
        """The study's name: in a shared database, OUT's folder name unless given; OUT's own
        database holds one study, whose name does not change when OUT is moved or renamed."""
        if self.study_name:
            return self.study_name
        return Path(self.out).resolve().name if self.storage else DEFAULT_STUDY

    def config(self, params: dict, repeat: int) -> TrainConfig:
        return TrainConfig(**{**self.settings, **params, "seed": self.seed + repeat})

    def study_description(self, held: HeldOut) -> dict:
        """What every worker of the study must share (their data paths may differ)."""
        return {
            "space": self.space.describe(),
            "sampler": self.sampler,
            "repeats": self.repeats,
            "seed": self.seed,
            "test_fraction": self.test_fraction,
            "settings": {k: v for k, v in self.settings.items() if k not in MACHINE_SETTINGS},
            "classes": list(held.classes),
            "images": [len(held.train), len(held.test)],
        }

    def description(self, held: HeldOut) -> dict:
        """What OUT holds (experiment.json): the study's description, the data and the study."""
        local = {"command": "sweep", "data": str(self.data), "label_options": asdict(self.options)}
        return {
            **local,
            **self.study_description(held),
            # the default, OUT/study.db, as None: OUT may move and still resume
            "storage": self.storage and shown_url(self.url),
            "study": self.name,
        }


def plan_sweep(
    data: Path | str,
    space_file: Path | str,
    out: Path | str,
    *,
    sampler: str | None = None,
    trials: int | None = None,
    settings: dict | None = None,
    **rest,
) -> SweepPlan:
    """A SweepPlan, every mistake refused before the first training: a setting both swept and
    set, a grid over ranges, ranges without a number of trials, a value TrainConfig refuses.
    The sampler is grid when every setting has a list of values, else tpe; a grid trains every
    configuration unless trials says fewer."""
    space = read_space(space_file)
    settings = dict(settings or {})
    if "seed" in settings:
        raise ConfigError("--set seed: the repeats train with seeds SEED..SEED+R-1; give --seed")
    both = [name for name in space.names if name in settings]
    if both:
        raise ConfigError(f"{both[0]} is both swept ({space_file}) and set (--set); keep one")
    space.check(settings, str(space_file))
    ranges = [name for name in space.names if name not in space.grid()]
    sampler = sampler or ("grid" if space.is_grid else "tpe")
    if sampler not in SAMPLERS:
        raise ConfigError(
            f"The 'sampler' parameter of sweep must be one of {SAMPLERS}. Got {sampler!r} instead."
        )
    if sampler == "grid" and ranges:
        raise ConfigError(
            f"{space_file}: the grid sampler needs a list of values for every "
            f"setting, and {', '.join(ranges)} has a range; list its values or "
            "use --sampler tpe or random"
        )
    if trials is None and ranges:
        raise ConfigError(
            f"{space_file}: {', '.join(ranges)} has a range: give --trials N, "
            "the number of configurations to train"
        )
    trials = trials or len(space.configurations())
    return SweepPlan(Path(data), space, Path(out), sampler, trials, settings=settings, **rest)


def run_sweep(plan: SweepPlan, reporter: Reporter | None = None) -> SweepReport:
    """Train configurations until the plan's trials are trained (by this worker and the study's
    others), then write sweep.csv, a plot per setting and best_config.yaml; returns them."""
    reporter = reporter or Reporter(quiet=True)
    held = held_out_split(plan.data, plan.test_fraction, plan.seed, plan.options)
    plan.out.mkdir(parents=True, exist_ok=True)  # the default database is in it
    with database_errors(plan.url):
        sampler = make_sampler(plan.sampler, plan.space)
        study = open_study(plan.url, plan.name, plan.study_description(held), sampler)
        # recorded once the study opened: a URL that failed is not remembered as this sweep's
        start_experiment(plan.out, plan.description(held))
        fail_lost_trials(study)
        retried = requeue_failed(study)
        if retried:
            reporter.line(f"trials {', '.join(map(str, retried))} did not finish: queued again")
        objective = Objective(plan, held, study, reporter)

        def hint() -> str:
            objective.report()
            return f"interrupted; run the same command again to resume the sweep in {plan.out}"

        with interrupt_ends_with(hint):
            if work_left(study, plan.trials, plan.space):
                study.optimize(objective, callbacks=[objective.after_trial])
        return objective.report()


class Objective:
    """One trial: claim the configuration optuna proposed, train it R times, score the mean."""

    def __init__(self, plan: SweepPlan, held: HeldOut, study: optuna.Study, reporter: Reporter):
        self.plan, self.held, self.study, self.reporter = plan, held, study, reporter
        self.skipped_in_a_row = 0
        self.trained = 0  # configurations this worker trained

    def __call__(self, trial: optuna.Trial) -> float:
        params = self.plan.space.suggest(trial)
        why_not = claim(self.study, trial, self.plan.trials)
        if why_not:
            raise self._skipped(why_not)
        self.skipped_in_a_row = 0
        folder = trial.user_attrs.get(FOLDER, trial.number)  # a retry reads its first's runs
        trial.set_user_attr(FOLDER, folder)
        scores = self._train(trial, params, folder)
        self.trained += 1
        return statistics.fmean(scores)

    def _train(self, trial: optuna.Trial, params: dict, folder: int) -> list[float]:
        """The repeats, each an experiment point (read back if it finished before)."""
        shown = " ".join(f"{k}={shown_value(v)}" for k, v in params.items())
        scores, seconds = [], 0.0
        for repeat in range(self.plan.repeats):
            where = self.plan.out / TRIALS / f"{folder}-{repeat}"
            config = self.plan.config(params, repeat)
            point = train_point(self.held, self.held.train, where, config, self.reporter)
            scores.append(point["score"])
            seconds += point["seconds"]
            trial.set_user_attr(SCORES, scores)
            trial.set_user_attr(SECONDS, round(seconds, 2))
            self.reporter.line(
                f"trial {trial.number} ({shown}) repeat {repeat + 1}/{self.plan.repeats}: "
                f"held-out score {point['score']:.4f}"
            )
        return scores

    def _skipped(self, why_not: str) -> optuna.TrialPruned:
        """The trial trains nothing and ends pruned; a sampler that keeps proposing
        configurations already trained is stopped."""
        self.skipped_in_a_row += 1
        if self.skipped_in_a_row >= MAX_SKIPS_IN_A_ROW:
            self.reporter.warn(
                f"the {self.plan.sampler} sampler proposed only configurations already "
                f"trained, {MAX_SKIPS_IN_A_ROW} times in a row; stopping"
            )
            self.study.stop()
        return optuna.TrialPruned(why_not)

    def after_trial(self, study: optuna.Study, trial) -> None:
        """The report rebuilt; a trial another worker left failed queued again; the worker
        stopped once no configuration is left to it."""
        self.report()
        requeue_failed(study)
        if not work_left(study, self.plan.trials, self.plan.space):
            study.stop()

    def report(self) -> SweepReport:
        config_of = functools.partial(self.plan.config, repeat=0)
        return write_report(self.study, self.plan.out, self.plan.space, config_of, self.trained)
