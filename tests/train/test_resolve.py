"""resolve(): every choice of a run made before the trainer exists, from settings and data."""

import csv

import pytest
import yaml
from PIL import Image

from imclass.data.dataset import LabelOptions, open_data
from imclass.data.split import train_valid_sets
from imclass.models import DEFAULT_IMAGE_SIZE, DEFAULT_MODEL, MULTILABEL_MODEL
from imclass.models.heads import CLASS_ATTENTION
from imclass.train.config import TrainConfig
from imclass.train.resolve import resolve


def folder_of_classes(root, size=(40, 30)):
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
        for index in range(5):
            Image.new("RGB", size, (20 * index, 90, 30)).save(root / name / f"{index}.png")
    return root


def resolved_for(data, **settings):
    config = TrainConfig(**settings)
    source = open_data(data)
    train, valid = train_valid_sets(source, config.valid_fraction, config.seed)
    return resolve(config, source, train, valid)


def test_defaults_choose_the_offline_backbone_at_its_size_with_flips(tmp_path):
    resolved = resolved_for(folder_of_classes(tmp_path / "data"))
    assert resolved.model == DEFAULT_MODEL and resolved.head == "gem"
    assert resolved.preprocessing.image_size == DEFAULT_IMAGE_SIZE
    assert resolved.classes == ("cat", "dog") and not resolved.multilabel
    assert resolved.flip_tta and resolved.device == "cpu"
    assert (resolved.train_images, resolved.valid_images) == (8, 2)
    assert resolved.split == "stratified"
    assert resolved.cache is False  # 40 x 30 px photos are not worth a decode cache


def test_explicit_settings_win_and_another_backbone_keeps_its_pretrained_size(tmp_path):
    data = folder_of_classes(tmp_path / "data")
    assert resolved_for(data, image_size=128).preprocessing.image_size == 128
    other = resolved_for(data, model="resnet18")
    assert other.head == "avg"  # GeM is the default only where it was measured
    assert resolved_for(data, model="resnet18", pooling="gem").head == "gem"
    assert resolved_for(data, pooling="avg").head == "avg"
    joined = resolved_for(data, model="tf_efficientnet_lite0+tf_efficientnet_lite1")
    assert joined.head == "gem"  # pooled as its offline parts are
    assert other.preprocessing.image_size == 224 and other.preprocessing.crop_pct == 0.95
    assert resolved_for(data, cache=True).cache is True
    assert resolved_for(data, flip_tta=False).flip_tta is False
    # the text preset never mirrors images, so test-time flips would show unseen views
    assert resolved_for(data, augment="text").flip_tta is False


def test_large_photos_turn_the_decode_cache_on(tmp_path):
    resolved = resolved_for(folder_of_classes(tmp_path / "data", size=(1600, 1200)))
    assert resolved.cache is True and resolved.cache_side < 1200


def test_multilabel_data_gets_class_attention_and_the_whole_image(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    with (tmp_path / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "labels"])
        for index in range(8):
            Image.new("RGB", (32, 32), (index * 30, 0, 0)).save(images / f"{index}.png")
            writer.writerow([f"images/{index}.png", "a b" if index % 2 else "a"])
    resolved = resolved_for(tmp_path / "labels.csv")
    assert resolved.multilabel and resolved.head == CLASS_ATTENTION
    assert resolved.preprocessing.crop_pct == 1.0
    assert resolved.model == MULTILABEL_MODEL != DEFAULT_MODEL  # the one measured there
    assert resolved.preprocessing.image_size == DEFAULT_IMAGE_SIZE


def test_config_yaml_is_the_resolved_settings_and_reads_back(tmp_path):
    from imclass.train.run import read_config

    data = folder_of_classes(tmp_path / "data")
    resolved = resolved_for(data, epochs=2)
    dumped = resolved.to_yaml_dict(data, LabelOptions(), "9.9")
    assert dumped["train"] == TrainConfig(epochs=2).to_dict()
    assert dumped["resolved"]["image_size"] == DEFAULT_IMAGE_SIZE
    assert dumped["resolved"]["head"] == "gem" and dumped["resolved"]["cache"] is False
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump(dumped, sort_keys=False))
    read_data, config, options = read_config(run)
    assert read_data == data and options == LabelOptions()
    assert config == TrainConfig(epochs=2, model=DEFAULT_MODEL)  # the model it resolved

    # a run started when the default was another backbone resumes with that one
    dumped["resolved"]["model"] = "tf_efficientnet_lite2"
    (run / "config.yaml").write_text(yaml.safe_dump(dumped, sort_keys=False))
    assert read_config(run)[1] == TrainConfig(epochs=2, model="tf_efficientnet_lite2")


def test_an_unknown_backbone_is_refused_before_any_training(tmp_path):
    from imclass.errors import ImclassError

    with pytest.raises(ImclassError, match="no_such_net"):
        resolved_for(folder_of_classes(tmp_path / "data"), model="no_such_net")
