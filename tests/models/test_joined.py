"""Joined backbones: one input through several pretrained bodies, their maps stacked."""

import pytest
import torch

from imclass.errors import ModelError
from imclass.models.backbones import (
    check_model_name,
    create_backbone,
    default_preprocessing,
    freeze_early_layers,
    offline_problem,
    parameter_count,
)
from imclass.models.heads import GeneralizedMeanPool, build_model
from imclass.models.joined import JoinedBackbones, parts_of

JOINED = "tf_efficientnet_lite0+tf_efficientnet_lite1"


def test_the_map_is_each_pretrained_body_s_map_stacked_channel_wise():
    model = build_model(JOINED, 3, "gem").eval()
    alone = [create_backbone(name).eval() for name in parts_of(JOINED)]
    inputs = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        features = model.forward_features(inputs)
        expected = torch.cat([body.forward_features(inputs) for body in alone], dim=1)
        torch.testing.assert_close(features, expected)
        pooled = model.forward_head(features, pre_logits=True)
        torch.testing.assert_close(pooled, GeneralizedMeanPool(torch.nn.Flatten())(expected))
        torch.testing.assert_close(model(inputs), model.get_classifier()(pooled))
    assert isinstance(model, JoinedBackbones) and pooled.shape == (2, 1280 + 1280)


def test_it_takes_the_first_body_s_preprocessing_and_counts_every_body():
    assert default_preprocessing(JOINED) == default_preprocessing("tf_efficientnet_lite0")
    # one 1000-class head over 2 x 1280 channels: as many weights as two heads, one bias fewer
    assert parameter_count(JOINED) == sum(map(parameter_count, parts_of(JOINED))) - 1000
    assert offline_problem(JOINED) is None


def test_freezing_takes_the_same_early_groups_of_each_body():
    joined = build_model(JOINED, 3, pretrained=False)
    freeze_early_layers(joined, 0.5)
    frozen = {n for n, p in joined.named_parameters() if not p.requires_grad}
    for index, name in enumerate(parts_of(JOINED)):
        alone = build_model(name, 3, pretrained=False)
        freeze_early_layers(alone, 0.5)
        expected = {
            f"parts.{index}.{n}" for n, p in alone.named_parameters() if not p.requires_grad
        }
        assert expected and {n for n in frozen if n.startswith(f"parts.{index}.")} == expected
    assert all(p.requires_grad for p in joined.get_classifier().parameters())


def test_a_joined_model_has_no_imagenet_head():
    with pytest.raises(ModelError, match="no ImageNet head.*'tf_efficientnet_lite0'"):
        create_backbone(JOINED)


def test_bodies_normalised_differently_or_misspelt_are_refused():
    with pytest.raises(ModelError, match="differently normalised"):
        check_model_name("tf_efficientnet_lite0+resnet18")
    with pytest.raises(ModelError, match="unknown model 'tf_efficientnet_lite7'.*Did you mean"):
        check_model_name("tf_efficientnet_lite0+tf_efficientnet_lite7")


def test_bodies_whose_maps_cannot_be_stacked_are_refused():
    with pytest.raises(ModelError, match="same size"):
        build_model("tf_efficientnet_lite0+vit_small_patch16_224", 2, pretrained=False)


def test_bodies_with_weights_outside_their_feature_map_are_refused():
    """A ResNet's fc is not its classifier in timm's naming: joined, it would sit untrained
    (and DDP refuses parameters without gradients)."""
    with pytest.raises(ModelError, match=r"resnet18 has weights outside its feature map \(fc"):
        build_model("resnet18+resnet34", 2, pretrained=False)
