"""How the workers of a sweep share its optuna study (a real SQLite database, no training):
a configuration is claimed by one trial only, the earlier trial winning; a finished one is never
claimed again; a failed one is queued again once, keeping its folder; and what the sweep writes
is rebuilt from the study."""

import os
import socket
import statistics
import subprocess
import sys
import threading

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState, create_trial

from imclass.errors import ConfigError, StorageError
from imclass.experiments.space import Choice, Range, SearchSpace
from imclass.experiments.study import (
    CLAIM,
    FOLDER,
    HOST,
    PROCESS,
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
    parameter_plot,
    ranked,
    trial_row,
    write_report,
)
from imclass.train.config import TrainConfig, read_settings_file
from tests.helpers import free_port

SPACE = SearchSpace((Choice("lr", (0.1, 0.2)),))
# These tests ask for trials by hand, as Study.optimize does for a sweep; optuna warns that
# its heartbeat is meant for optimize.
pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")


def new_study(tmp_path, description=None):
    url = storage_url(None, tmp_path)
    return open_study(url, "sweep", description or {}, make_sampler("grid", SPACE))


def proposed(study, lr: float):
    """A running trial that was proposed lr (as the objective sees it once it suggested)."""
    study.enqueue_trial({"lr": lr})
    trial = study.ask()
    SPACE.suggest(trial)
    return trial


def test_a_configuration_is_claimed_by_one_trial_and_never_again_once_trained(tmp_path):
    study = new_study(tmp_path)
    first, second = proposed(study, 0.1), proposed(study, 0.1)
    assert claim(study, first, limit=2) == ""
    assert claim(study, second, limit=2) == "trial 0 is training this configuration"
    study.tell(second, state=TrialState.PRUNED)
    study.tell(first, 0.9)
    third = proposed(study, 0.1)
    assert claim(study, third, limit=2) == "trial 0 trained this configuration"
    study.tell(third, state=TrialState.PRUNED)
    other = proposed(study, 0.2)
    assert claim(study, other, limit=1) == (
        "--trials 1 reached: as many configurations are trained or training"
    )
    assert claim(study, other, limit=2) == ""


def test_the_earlier_trial_wins_a_configuration_whichever_claims_first(tmp_path):
    study = new_study(tmp_path)
    first, second = proposed(study, 0.2), proposed(study, 0.2)
    results = {}
    later = threading.Thread(target=lambda: results.update(second=claim(study, second, 2)))
    later.start()  # trial 1 claims first: it waits for trial 0, undecided, to decide
    results["first"] = claim(study, first, 2)
    later.join(timeout=120)
    assert results == {"first": "", "second": "trial 0 is training this configuration"}


def test_a_failed_trial_is_queued_again_once_and_keeps_its_folder(tmp_path):
    study = new_study(tmp_path)
    failed = proposed(study, 0.1)
    failed.set_user_attr(FOLDER, 0)
    assert claim(study, failed, 2) == ""
    study.tell(failed, state=TrialState.FAIL)  # what optuna records on Ctrl-C
    assert requeue_failed(study) == [0]
    assert requeue_failed(study) == []  # queued already
    retry = study.ask()  # the queue comes first
    assert (retry.number, retry.params, retry.user_attrs[FOLDER]) == (1, {"lr": 0.1}, 0)
    assert claim(study, retry, 2) == ""  # the claim it inherited was its first's, not its own
    study.tell(retry, 0.8)
    lost = proposed(study, 0.1)
    study.tell(lost, state=TrialState.FAIL)
    assert requeue_failed(study) == []  # trial 1 trained lr=0.1


def test_a_trial_whose_process_is_gone_from_this_machine_is_failed_and_queued_again(tmp_path):
    study = new_study(tmp_path)
    alive, lost = proposed(study, 0.1), proposed(study, 0.2)
    assert claim(study, alive, 2) == "" and claim(study, lost, 2) == ""
    namespace, pid = study.trials[0].user_attrs[PROCESS]
    assert (pid, study.trials[0].user_attrs[HOST]) == (os.getpid(), socket.gethostname())
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
    lost.set_user_attr(PROCESS, [namespace, int(finished.stdout)])  # killed while training
    assert fail_lost_trials(study) == [1]
    assert [t.state for t in study.trials] == [TrialState.RUNNING, TrialState.FAIL]
    assert requeue_failed(study) == [1]


def test_work_is_left_while_a_grid_configuration_is_free_and_under_the_limit(tmp_path):
    study = new_study(tmp_path)
    assert work_left(study, 2, SPACE)
    done = proposed(study, 0.1)
    claim(study, done, 2)
    study.tell(done, 0.9)
    assert work_left(study, 2, SPACE) and not work_left(study, 1, SPACE)
    running = proposed(study, 0.2)
    assert work_left(study, 2, SPACE)  # proposed, not yet claimed
    claim(study, running, 2)
    assert not work_left(study, 2, SPACE)


def test_a_worker_of_another_sweep_is_refused(tmp_path):
    new_study(tmp_path, {"repeats": 2, "space": {"lr": [0.1, 0.2]}})
    assert new_study(tmp_path, {"repeats": 2, "space": {"lr": [0.1, 0.2]}}).user_attrs
    with pytest.raises(
        ConfigError,
        match=r"study 'sweep' in sqlite:///.* is another sweep "
        r"\(repeats differ: repeats=2\); give its workers the same arguments",
    ):
        new_study(tmp_path, {"repeats": 3, "space": {"lr": [0.1, 0.2]}})


def test_storage_urls_default_to_the_output_folder_and_postgresql_to_psycopg(tmp_path):
    assert storage_url(None, tmp_path) == f"sqlite:///{tmp_path.resolve()}/study.db"
    url = storage_url("postgresql://me:secret@db.example:5433/sweeps", tmp_path)
    assert url == "postgresql+psycopg://me:secret@db.example:5433/sweeps"
    assert shown_url(url) == "postgresql+psycopg://me:***@db.example:5433/sweeps"


def test_a_closed_postgresql_port_is_one_line_without_the_password(tmp_path):
    port = free_port()  # nobody listens on it
    url = storage_url(f"postgresql://me:secret@127.0.0.1:{port}/sweeps", tmp_path)
    with pytest.raises(StorageError) as caught, database_errors(url):
        new_study_at(url)
    message = str(caught.value)
    assert message.startswith(f"--storage postgresql+psycopg://me:***@127.0.0.1:{port}/sweeps: ")
    assert "Connection refused" in message and "secret" not in message and "\n" not in message


def new_study_at(url):
    return open_study(url, "sweep", {}, make_sampler("grid", SPACE))


def finished(study, lr, scores, state=TrialState.COMPLETE, claimed=True):
    """A trial as a worker leaves it: its repeats' scores, seconds, folder and host."""
    number = len(study.get_trials())
    attrs = {SCORES: scores, SECONDS: 10.0 * len(scores), FOLDER: number, HOST: "box"}
    study.add_trial(
        create_trial(
            state=state,
            params={"lr": lr},
            distributions={"lr": CategoricalDistribution([0.1, 0.2])},
            value=statistics.fmean(scores) if state == TrialState.COMPLETE else None,
            user_attrs={**attrs, CLAIM: number if claimed else -1},
        )
    )


def test_the_report_is_rebuilt_from_the_study(tmp_path):
    study = new_study(tmp_path)
    finished(study, 0.1, [0.8, 0.9])
    finished(study, 0.2, [0.95, 0.95])
    finished(study, 0.1, [0.7], state=TrialState.FAIL)  # interrupted after its first repeat
    finished(study, 0.2, [], state=TrialState.PRUNED, claimed=False)  # found it taken
    report = write_report(study, tmp_path, SPACE, lambda params: TrainConfig(**params, epochs=2))
    assert (tmp_path / "sweep.csv").read_text() == (
        "trial,lr,mean,std,repeats,seconds,state,runs,host\n"
        "0,0.1,0.8500,0.0707,2,20.0,COMPLETE,trials/0-*,box\n"
        "1,0.2,0.9500,0.0000,2,20.0,COMPLETE,trials/1-*,box\n"
        "2,0.1,,,1,10.0,FAIL,trials/2-*,box\n"
    )
    assert report.best["trial"] == 1
    best = tmp_path / "best_config.yaml"
    assert read_settings_file(best) == TrainConfig(lr=0.2, epochs=2).to_dict()
    assert best.read_text().startswith(
        "# imclass sweep: trial 1, the best of 2 complete in sweep.csv: mean held-out score "
        "0.9500 ± 0.0000 over 2 repeat(s)\n# swept: lr=0.2\n"
    )
    assert (tmp_path / "sweep_lr.png").read_bytes()[:4] == b"\x89PNG"
    assert [p.name for p in report.files] == ["sweep.csv", "sweep_lr.png", "best_config.yaml"]


def test_equal_means_rank_the_steadier_first_whatever_the_float_sums():
    study = optuna.create_study(direction="maximize")
    for lr, scores in ((0.1, [31 / 33, 29 / 33]), (0.2, [30 / 33, 30 / 33])):
        finished(study, lr, scores)  # means 0.9090909090909092 and 0.9090909090909091
    rows = [trial_row(t, ("lr",)) for t in study.trials]
    assert [r["trial"] for r in ranked(rows)] == [1, 0]


def test_a_range_is_plotted_on_its_scale():
    rows = [
        {"trial": i, "lr": lr, "mean": m, "std": None, "state": "COMPLETE"}
        for i, (lr, m) in enumerate([(1e-4, 0.8), (1e-3, 0.9), (1e-2, 0.7)])
    ]
    assert parameter_plot(rows, Range("lr", 1e-5, 1e-1, log=True))[:4] == b"\x89PNG"


def test_a_sampler_for_each_name():
    assert isinstance(make_sampler("grid", SPACE), optuna.samplers.GridSampler)
    assert isinstance(make_sampler("random", SPACE), optuna.samplers.RandomSampler)
    assert isinstance(make_sampler("tpe", SPACE), optuna.samplers.TPESampler)
