"""The heads: what the multi-label class-attention head and generalised-mean pooling compute,
and that each survives a round trip."""

import pytest
import torch

from imclass.errors import ModelError
from imclass.models.heads import (
    GEM_P,
    LAMBDA,
    ClassAttentionHead,
    ClassAttentionModel,
    GeneralizedMeanPool,
    build_model,
)


def test_a_uniform_map_scores_like_the_pooled_linear_layer_times_one_plus_lambda():
    torch.manual_seed(0)
    head = ClassAttentionHead(8, 3)
    vector = torch.randn(2, 8)
    uniform = vector[:, :, None, None].expand(2, 8, 5, 5)
    expected = (1 + LAMBDA) * head.fc(vector)
    torch.testing.assert_close(head(uniform), expected)
    torch.testing.assert_close(head(vector), expected)  # already pooled features


def test_a_small_object_counts_more_than_under_average_pooling():
    head = ClassAttentionHead(2, 2)
    with torch.no_grad():
        head.fc.weight.copy_(torch.eye(2))  # class k scores feature k
        head.fc.bias.zero_()
    scene = torch.zeros(1, 2, 7, 7)
    scene[0, 0, 3, 3] = 49.0  # class 0 in one location of 49
    logits = head(scene)[0]
    assert torch.isclose(logits[0], torch.tensor(1.0 + LAMBDA * 49.0))  # mean + lambda * max
    assert logits[1] == 0
    moved = torch.zeros_like(scene)
    moved[0, 0, 0, 6] = 49.0
    torch.testing.assert_close(head(moved), head(scene))  # where it is does not matter


def test_token_maps_of_transformers_are_scored_per_token():
    head = ClassAttentionHead(4, 2)
    tokens = torch.randn(3, 10, 4)
    scores = head.fc(tokens)
    torch.testing.assert_close(head(tokens), scores.mean(1) + LAMBDA * scores.amax(1))


def test_a_timm_backbone_under_the_head_keeps_the_timm_interface_and_round_trips():
    torch.manual_seed(0)
    model = build_model("tf_efficientnet_lite0", 3, "csra", pretrained=False).eval()
    assert isinstance(model, ClassAttentionModel)
    inputs = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        features = model.forward_features(inputs)
        assert model.forward_head(features, pre_logits=True).shape == (2, 1280, 3, 3)
        logits = model(inputs)
        assert logits.shape == (2, 3)
        torch.testing.assert_close(model.get_classifier()(features), logits)
        again = build_model("tf_efficientnet_lite0", 3, "csra", pretrained=False).eval()
        again.load_state_dict(model.state_dict())
        torch.testing.assert_close(again(inputs), logits)
    assert model.pretrained_cfg["input_size"][-1] == 224


def test_generalised_mean_lies_between_the_mean_and_the_maximum_and_clamps_negatives():
    pool = GeneralizedMeanPool(torch.nn.Flatten(1))
    scene = torch.zeros(1, 2, 4, 4)
    scene[0, 0, 1, 2] = 16.0  # one strong location of 16: mean 1, maximum 16
    scene[0, 1] = 2.0  # uniform: every mean of it is 2
    pooled = pool(scene)[0]
    assert torch.isclose(pooled[0], torch.tensor(16.0 * (1 / 16) ** (1 / GEM_P)))
    assert 1.0 < pooled[0] < 16.0
    assert torch.isclose(pooled[1], torch.tensor(2.0))
    negative = scene.clone()
    negative[0, 1, 0, 0] = -5.0  # clamped to ~0, as after a ReLU
    assert pool(negative)[0, 1] < pooled[1]
    assert pool(negative)[0, 0] == pooled[0]


def test_a_gem_model_pools_its_map_so_and_round_trips():
    torch.manual_seed(0)
    model = build_model("tf_efficientnet_lite0", 3, "gem", pretrained=False).eval()
    inputs = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        features = model.forward_features(inputs)
        pooled = model.forward_head(features, pre_logits=True)
        expected = features.clamp(min=1e-6).pow(GEM_P).mean((2, 3)).pow(1 / GEM_P)
        torch.testing.assert_close(pooled, expected)
        logits = model(inputs)
        torch.testing.assert_close(model.get_classifier()(pooled), logits)
        again = build_model("tf_efficientnet_lite0", 3, "gem", pretrained=False).eval()
        again.load_state_dict(model.state_dict())
        torch.testing.assert_close(again(inputs), logits)
        average = build_model("tf_efficientnet_lite0", 3, "avg", pretrained=False).eval()
        average.load_state_dict(model.state_dict())  # the same weights, pooled otherwise
        assert not torch.allclose(average(inputs), logits)


def test_models_that_pool_before_a_conv_keep_their_map_shape_under_gem():
    model = build_model("mobilenetv3_large_100", 2, "gem", pretrained=False).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 64, 64)).shape == (1, 2)


def test_a_transformer_has_no_pooling_layer_to_make_gem():
    resnet = build_model("resnet18", 2, "gem", pretrained=False)
    assert isinstance(resnet.global_pool, GeneralizedMeanPool)
    with pytest.raises(ModelError, match="vit_small_patch16_224.*pooling 'avg'"):
        build_model("vit_small_patch16_224", 2, "gem", pretrained=False)
