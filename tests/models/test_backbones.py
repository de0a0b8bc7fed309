import pytest

from imclass.errors import ModelError
from imclass.models import default_image_size, default_model
from imclass.models.backbones import create_backbone, list_backbones


def test_unknown_model_name_suggests_a_close_one():
    with pytest.raises(ModelError, match="Did you mean 'resnet50'"):
        create_backbone("resnet5O", 2)


def test_hub_model_offline_is_a_clear_error_not_a_hang(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match="'resnet18' could not be fetched.*offline"):
        create_backbone("resnet18", 2)


def test_models_listing_marks_the_offline_default():
    rows = {row["name"]: row for row in list_backbones()}
    default = rows["tf_efficientnet_lite0"]
    assert default["offline"] and default["default"] == "default"
    assert default["input_size"] == 224
    assert 4_600_000 < default["parameters"] < 4_700_000
    assert rows["resnet50"]["parameters"] == 25_557_032


def test_multilabel_defaults_are_a_stronger_backbone_at_one_and_a_half_times_the_size():
    assert default_model(False) == "tf_efficientnet_lite0"
    assert default_model(True) == "tf_efficientnet_lite2"
    assert default_image_size(224, False) == 224
    assert default_image_size(260, True) == 390
    assert default_image_size(224, True) == 336
