"""ImageClassifier as a scikit-learn estimator: parameters, clone, set_params, GridSearchCV."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from imclass import ImageClassifier, TrainConfig
from imclass.errors import ConfigError, NotFittedError
from tests.helpers import make_image_folder


def test_parameters_are_train_config_fields_plus_run_dir_and_verbose():
    params = ImageClassifier().get_params(deep=True)
    assert set(params) == {f.name for f in fields(TrainConfig)} | {"run_dir", "verbose"}
    assert params["wise_alpha"] == TrainConfig.wise_alpha == 0.5
    assert params["frozen_fraction"] == 0.5 and params["flip_tta"] is True
    assert params["refit"] is False and params["run_dir"] is None and params["verbose"] is True


def test_clone_gives_an_unfitted_estimator_with_equal_params():
    original = ImageClassifier(epochs=2, wise_alpha=1.0, run_dir="somewhere")
    copy = clone(original)
    assert copy is not original
    assert copy.get_params() == original.get_params()
    assert copy.epochs == 2 and copy.wise_alpha == 1.0 and copy.run_dir == "somewhere"
    with pytest.raises(NotFittedError, match="not fitted"):
        copy.predict(["x.png"])


def test_unfitted_classifier_says_so():
    with pytest.raises(NotFittedError, match="not fitted"):
        ImageClassifier().predict(["x.png"])


def test_init_stores_values_as_given_and_fit_validates_them():
    clf = ImageClassifier(lr=-3)  # scikit-learn's rule: no validation in __init__
    assert clf.lr == -3
    with pytest.raises(ConfigError, match=r"The 'lr' parameter of train must be a float"):
        clf.fit(["a.png", "b.png"], ["red", "blue"])


def test_set_params_round_trip_returns_self():
    clf = ImageClassifier()
    assert clf.set_params(epochs=3, flip_tta=False, verbose=False) is clf
    assert clf.get_params()["epochs"] == 3 and clf.flip_tta is False and clf.verbose is False
    assert ImageClassifier(**clf.get_params()).get_params() == clf.get_params()


def test_unknown_parameter_names_the_close_match():
    with pytest.raises(ConfigError, match=r"no parameter 'wise_alfa'. Did you mean 'wise_alpha'"):
        ImageClassifier().set_params(wise_alfa=1.0)
    with pytest.raises(ConfigError, match=r"no parameter 'epoch'. Did you mean 'epochs'"):
        ImageClassifier(epoch=3)


@pytest.mark.slow  # five real trainings (2 folds x 2 settings, then the refit): ~20 s
def test_grid_search_over_image_paths_and_labels(tmp_path):
    data = make_image_folder(tmp_path / "data", per_class=8, size=32)
    paths = sorted(data.glob("*/*.png"))
    labels = [path.parent.name for path in paths]
    clf = ImageClassifier(image_size=32, head_epochs=2, epochs=0, workers=0, verbose=False)
    search = GridSearchCV(clf, {"head_lr": [1e-3, 3e-3]}, cv=2).fit(paths, labels)
    assert search.best_params_["head_lr"] in (1e-3, 3e-3)
    assert np.all(search.cv_results_["mean_test_score"] >= 0.75)
    best = search.best_estimator_
    assert best.classes_ == ["blue", "red"] and best.run_dir_ is None
    assert best.score(paths, labels) >= 0.9
    assert clf.get_params()["head_lr"] == TrainConfig.head_lr  # the template stays unfitted
    assert not hasattr(clf, "classes_")
