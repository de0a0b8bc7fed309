"""A sweep's optuna study: the database it is kept in, the sampler that proposes
configurations, and how the workers sharing it agree on who trains what.

Workers are `imclass sweep` processes, on one machine or several, that open the same study.
optuna proposes a configuration to each new trial; the trial then *claims* it (claim()) and
trains only if no other trial trained it or is training it. Trials decide one at a time, in the
order of the numbers the database hands out: a trial waits until every earlier one has decided,
so two trials can never both see the other undecided and both train. A trial interrupted or
lost (its process gone from this machine, or no heartbeat for GRACE_S) is failed and queued
again with the same configuration; a finished one is never trained again.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback, fail_stale_trials
from optuna.trial import FrozenTrial, TrialState

from imclass.errors import ConfigError, StorageError
from imclass.experiments.space import SearchSpace

STUDY_FILE = "study.db"
CLAIM = "claimed_by"  # user attr: the number of the trial that claimed its configuration
FOLDER = "folder"  # user attr: the trial whose folders hold the runs (a retry keeps its first's)
HOST = "host"  # user attrs of a claim: the machine whose OUT holds the runs,
PROCESS = "process"  # and the process training them ([pid namespace, pid])
DESCRIPTION = "imclass_sweep"  # study user attr: what every worker of the study must agree on
HEARTBEAT_S = 20  # a running trial's worker writes a heartbeat this often
GRACE_S = 60  # a trial silent for longer lost its worker: it is failed and queued again
PATIENCE_S = GRACE_S + 3 * HEARTBEAT_S  # the longest a claim waits for earlier trials
POLL_S = 0.5
URL_HELP = "sqlite:///FILE or postgresql://USER:PASSWORD@HOST:PORT/DATABASE"


def storage_url(storage: str | None, out: Path) -> str:
    """The SQLAlchemy URL of the study's database: OUT/study.db unless given; a PostgreSQL URL
    goes through psycopg (version 3), the driver imclass installs."""
    if storage is None:
        return f"sqlite:///{(Path(out) / STUDY_FILE).resolve()}"
    scheme, sep, rest = storage.partition("://")
    if sep and scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return storage


def shown_url(url: str) -> str:
    """url with its password hidden, for messages and experiment.json."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """A database that cannot be reached, at the start or later, as one line."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    shown = shown_url(url)
    try:
        yield
    except ImportError as error:  # optuna's words for a URL whose driver is not installed
        raise StorageError(
            f"--storage {shown}: no database driver for it ({error}); "
            f"imclass sweep takes {URL_HELP}"
        ) from None
    except ArgumentError:
        raise StorageError(f"--storage {shown}: not a database URL; give {URL_HELP}") from None
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise StorageError(
            f"--storage {shown}: cannot use the study's database ({reason}); start the "
            "database server or correct the URL"
        ) from None


def open_study(url: str, name: str, description: dict, sampler) -> optuna.Study:
    """The study called name in the database at url, created by the first worker; a worker of
    another sweep (another space, repeats or recipe) is refused."""
    description = json.loads(json.dumps(description, default=str))  # as it reads back
    study = optuna.create_study(
        storage=_rdb_storage(url),
        study_name=name,
        sampler=sampler,
        direction="maximize",
        load_if_exists=True,
    )
    before = study.user_attrs.get(DESCRIPTION)
    if before is None:
        study.set_user_attr(DESCRIPTION, description)
    elif before != description:
        changed = sorted(k for k in {*before, *description} if before.get(k) != description.get(k))
        raise ConfigError(
            f"study {name!r} in {shown_url(url)} is another sweep ({', '.join(changed)} differ: "
            f"{', '.join(f'{k}={before.get(k)!r}' for k in changed)}); give its workers the "
            "same arguments, or choose another --study-name"
        )
    return study


def _rdb_storage(url: str, attempts: int = 3) -> RDBStorage:
    """optuna's database, its tables created by the first worker. Workers that start together
    on a new database all create them, and all but one collide (a duplicate key or table, seen
    with two workers on PostgreSQL 15); a moment later the tables are there to use."""
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    engine = {"connect_args": {"connect_timeout": 10}} if url.startswith("postgresql") else {}
    for attempt in range(1, attempts):
        try:
            return _open_rdb(url, engine)
        except (IntegrityError, ProgrammingError):
            time.sleep(attempt)
    return _open_rdb(url, engine)


def _open_rdb(url: str, engine: dict) -> RDBStorage:
    with _experimental_allowed():
        return RDBStorage(
            url,
            engine,
            heartbeat_interval=HEARTBEAT_S,
            grace_period=GRACE_S,
            heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(),
        )


def make_sampler(kind: str, space: SearchSpace):
    """grid: every configuration once; random; tpe: optuna's Tree-structured Parzen
    Estimator, which draws more where the scores so far were high."""
    if kind == "grid":
        return optuna.samplers.GridSampler(space.grid())
    if kind == "random":
        return optuna.samplers.RandomSampler()
    return optuna.samplers.TPESampler()


def claim(study: optuna.Study, trial: optuna.Trial, limit: int) -> str:
    """'' when trial may train its configuration (now its own), else why not: another trial
    trained it or is training it, or `limit` configurations are trained or training."""
    _wait_for_earlier(study, trial.number)
    others = [t for t in study.get_trials(deepcopy=False) if t.number != trial.number]
    holder = next((t for t in others if holds(t) and t.params == trial.params), None)
    if holder is not None:
        done = "trained" if holder.state == TrialState.COMPLETE else "is training"
        return f"trial {holder.number} {done} this configuration"
    if sum(map(holds, others)) >= limit:
        return f"--trials {limit} reached: as many configurations are trained or training"
    trial.set_user_attr(HOST, socket.gethostname())
    trial.set_user_attr(PROCESS, [_process_namespace(), os.getpid()])
    trial.set_user_attr(CLAIM, trial.number)  # last: what the other trials read
    return ""


def holds(trial: FrozenTrial) -> bool:
    """trial trained its configuration, or claimed it and is training it."""
    claimed = trial.user_attrs.get(CLAIM) == trial.number  # a retry inherits its first's
    return trial.state == TrialState.COMPLETE or (trial.state == TrialState.RUNNING and claimed)


def _undecided(trial: FrozenTrial) -> bool:
    claimed = trial.user_attrs.get(CLAIM) == trial.number
    return trial.state == TrialState.WAITING or (trial.state == TrialState.RUNNING and not claimed)


def _wait_for_earlier(study: optuna.Study, number: int) -> None:
    """Until every trial numbered before `number` has decided (each takes a moment), or at most
    PATIENCE_S: one whose worker died undecided is failed meanwhile by its missing heartbeat."""
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        trials = study.get_trials(deepcopy=False)
        if not any(t.number < number and _undecided(t) for t in trials):
            return
        with _experimental_allowed():
            fail_stale_trials(study)
        time.sleep(POLL_S)


def work_left(study: optuna.Study, limit: int, space: SearchSpace) -> bool:
    """Fewer than limit configurations trained or training, and (for a grid) one of them free."""
    holding = [t for t in study.get_trials(deepcopy=False) if holds(t)]
    if len(holding) >= limit:
        return False
    if not space.is_grid:
        return True
    taken = [t.params for t in holding]
    return any(c not in taken for c in space.configurations())


def fail_lost_trials(study: optuna.Study) -> list[int]:
    """Fail the trials whose process is gone from this machine (killed, out of memory), so a
    run started right after trains them again; returns their numbers. A trial lost on another
    machine is failed once its heartbeat is GRACE_S old."""
    here = _process_namespace()
    lost = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if holds(t) and here is not None and _gone(here, t.user_attrs.get(PROCESS))
    ]
    for trial in lost:  # as optuna fails a stale trial (tell() would run the sampler's hooks)
        study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
    return [t.number for t in lost]


def _process_namespace() -> str | None:
    """What makes a process id name one process: this boot of the kernel and this pid
    namespace (a container has its own); None where /proc does not tell (not Linux)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
        return f"{boot} {os.readlink('/proc/self/ns/pid')}"
    except OSError:
        return None


def _gone(here: str, process) -> bool:
    """process ([namespace, pid]) ran in this namespace and is not running any more."""
    if not isinstance(process, list) or len(process) != 2 or process[0] != here:
        return False
    try:
        os.kill(int(process[1]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process of that number
        return False
    return False


def requeue_failed(study: optuna.Study) -> list[int]:
    """Queue again, once, each failed trial (interrupted, crashed) whose configuration no
    other trial trained, is training or waits to train; returns their numbers. The retry
    keeps the failed trial's folder, so its finished repeats are read back, not trained."""
    trials = study.get_trials(deepcopy=False)
    retried = {t.system_attrs.get("failed_trial") for t in trials}
    alive = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING)
    queued = []
    for failed in trials:
        if failed.state != TrialState.FAIL or failed.number in retried:
            continue
        if any(t.state in alive and t.params == failed.params for t in trials):
            continue
        with _experimental_allowed():  # the way optuna queues a trial whose worker was lost
            RetryHeartbeatStaleTrialCallback()(study, copy.deepcopy(failed))
        queued.append(failed.number)
    return queued


@contextmanager
def _experimental_allowed() -> Iterator[None]:
    """Heartbeats and retries are 'experimental' in optuna since 2.8; no warning line each."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        yield
