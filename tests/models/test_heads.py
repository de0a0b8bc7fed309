"""The multi-label class-attention head: what it computes and that it survives a round trip."""

import torch

from imclass.models.heads import LAMBDA, ClassAttentionHead, ClassAttentionModel, build_model


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
