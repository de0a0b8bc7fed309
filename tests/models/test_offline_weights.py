"""The packaged EfficientNet-Lite weights map exactly onto timm's tf_efficientnet_lite models."""

import numpy as np
import pytest
import torch
from PIL import Image

from imclass.data.transforms import eval_transform
from imclass.models.backbones import create_backbone, preprocessing_of
from imclass.models.offline_weights import weights_file

skimage_data = pytest.importorskip("skimage.data")
reference = pytest.importorskip("efficientnet_lite_pytorch")


@pytest.fixture(scope="module")
def lite0():
    return create_backbone("tf_efficientnet_lite0").eval()


def photo_batch(model, *arrays) -> torch.Tensor:
    transform = eval_transform(preprocessing_of(model))
    return torch.stack([transform(Image.fromarray(a)) for a in arrays])


def test_mapped_logits_equal_the_original_model(lite0):
    original = reference.EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=str(weights_file("tf_efficientnet_lite0"))
    ).eval()
    batch = photo_batch(lite0, skimage_data.chelsea(), skimage_data.coffee())
    with torch.no_grad():
        ours, theirs = lite0(batch), original(batch)
    assert torch.equal(ours, theirs)


def test_preprocessing_is_the_weights_own(lite0):
    pre = preprocessing_of(lite0)
    assert pre.mean == (0.5, 0.5, 0.5) and pre.std == (0.5, 0.5, 0.5)
    assert pre.interpolation == "bicubic" and pre.crop_pct == 0.875 and pre.image_size == 224


def test_zero_shot_imagenet_top1_on_real_photos(lite0):
    batch = photo_batch(lite0, skimage_data.chelsea(), skimage_data.coffee())
    with torch.no_grad():
        top1 = lite0(batch).argmax(1).tolist()
    assert 281 <= top1[0] <= 285  # the domestic-cat classes (tabby, tiger cat, Persian, ...)
    assert top1[1] == 967  # espresso


def test_new_head_keeps_the_backbone_exact(lite0):
    fresh = create_backbone("tf_efficientnet_lite0", num_classes=3).eval()
    batch = torch.from_numpy(np.random.default_rng(0).normal(size=(1, 3, 64, 64)).astype("float32"))
    with torch.no_grad():
        assert torch.equal(fresh.forward_features(batch), lite0.forward_features(batch))
    assert fresh.get_classifier().out_features == 3
