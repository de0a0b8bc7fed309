import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from imclass.train.probe import fit_linear_probe


def blobs(classes: int, per_class: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (classes, 16))
    labels = np.repeat(np.arange(classes), per_class)
    return centres[labels] + rng.normal(0, 1, (len(labels), 16)), labels


def test_probe_separates_classes_it_was_not_fitted_on():
    x, y = blobs(4, 30)
    probe = fit_linear_probe(x[::2], y[::2], 4)
    assert np.mean(probe.logits(x[1::2]).argmax(1) == y[1::2]) > 0.95
    assert probe.weight.shape == (4, 16) and probe.c > 0


def test_binary_probe_in_softmax_form_gives_sklearns_probabilities():
    x, y = blobs(2, 20)
    probe = fit_linear_probe(x, y, 2)
    reference = LogisticRegression(C=probe.c, max_iter=2000).fit(x, y)
    softmax = torch.from_numpy(probe.logits(x)).softmax(1).numpy()
    # same optimum up to the solvers' tolerance (the probe's fit is warm-started)
    np.testing.assert_allclose(softmax, reference.predict_proba(x), atol=1e-3)


def test_probe_weights_load_into_a_linear_head():
    x, y = blobs(3, 10)
    probe = fit_linear_probe(x, y, 3)
    head = torch.nn.Linear(16, 3)
    probe.copy_into(head)
    with torch.no_grad():
        out = head(torch.from_numpy(x).float()).numpy()
    np.testing.assert_allclose(out, probe.logits(x), rtol=1e-4, atol=1e-4)


def test_a_class_absent_from_training_is_never_predicted():
    x, y = blobs(3, 10)
    keep = y != 1
    probe = fit_linear_probe(x[keep], y[keep], 3)
    assert not np.any(probe.logits(x).argmax(1) == 1)
