"""image_context: the image, the spacing and Ω_M that both objectives hand to their losses."""
import torch

from pymic_paseg.objectives.image_context import image_context


def test_image_only_without_spacing_or_valid_region_channel():
    image = torch.zeros(1, 1, 2, 3, 3)
    context = image_context({"image": image, "data": {"label": torch.zeros(1, 1, 2, 3, 3)}})
    assert set(context) == {"image"} and context["image"] is image


def test_spacing_and_the_valid_region_channel_are_passed_on():
    image = torch.zeros(1, 1, 2, 3, 3)
    label = torch.zeros(1, 2, 2, 3, 3)
    label[0, 1, 0] = 1                         # Ω_M: the first slice
    spacing = torch.tensor([[2.0, 1.0, 1.0]])
    context = image_context({"image": image, "data": {"label": label, "spacing": spacing}})
    assert context["spacing"] is spacing
    assert context["valid_mask"].shape == (1, 1, 2, 3, 3)
    assert context["valid_mask"][0, 0, 0].all() and not context["valid_mask"][0, 0, 1].any()
