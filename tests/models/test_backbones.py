import pytest

from imclass.errors import ModelError
from imclass.models import DEFAULT_MODEL, default_image_size
from imclass.models.backbones import create_backbone, list_backbones


def test_unknown_model_name_suggests_a_close_one():
    with pytest.raises(ModelError, match="Did you mean 'resnet50'"):
        create_backbone("resnet5O", 2)


def test_hub_model_offline_is_a_clear_error_not_a_hang(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match="'resnet18' could not be fetched.*offline"):
        create_backbone("resnet18", 2)


def test_models_listing_marks_the_offline_defaults():
    rows = {row["name"]: row for row in list_backbones()}
    lite0, lite1, lite2 = (rows[f"tf_efficientnet_lite{k}"] for k in range(3))
    default = rows[DEFAULT_MODEL]
    assert default["offline"] and default["default"] == "default" and lite0["default"] is None
    assert lite2["default"] == "multi-label default, --imagenet default"
    assert lite0["input_size"] == 224 and default["input_size"] == 320  # as imclass trains it
    # one 1000-class head over 2 x 1280 channels: as many weights as two heads, one bias fewer
    assert default["parameters"] == lite2["parameters"] + lite1["parameters"] - 1000
    assert 4_600_000 < lite0["parameters"] < 4_700_000
    assert rows["resnet50"]["parameters"] == 25_557_032


def test_the_default_backbones_run_at_320_px_and_others_at_their_pretrained_size():
    assert DEFAULT_MODEL == "tf_efficientnet_lite2+tf_efficientnet_lite1"
    assert default_image_size(DEFAULT_MODEL, 260) == 320
    assert default_image_size("tf_efficientnet_lite2", 260) == 320
    assert default_image_size("resnet50", 224) == 224


def test_freezing_stops_gradients_in_the_earliest_layer_groups_only():
    import timm

    from imclass.models.backbones import freeze_early_layers

    model = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=3)
    total = sum(p.numel() for p in model.parameters())
    trainable = freeze_early_layers(model, 0.5)
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert "conv_stem.weight" in frozen and "blocks.2.0.conv_pw.weight" in frozen
    assert "blocks.3.0.conv_pw.weight" not in frozen and "classifier.weight" not in frozen
    assert trainable < total
    assert freeze_early_layers(model, 0.0) == total
