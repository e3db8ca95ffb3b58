"""main_output: the full-resolution prediction of a (deep-supervised) network output."""
import pytest
import torch

from pymic_paseg.deep_supervision import main_output
from pymic_paseg.losses import PartialCELoss


def test_first_item_of_a_list_or_tuple_else_the_output():
    full, half = torch.zeros(1, 2, 4, 4), torch.ones(1, 2, 2, 2)
    assert main_output([full, half]) is full and main_output((full, half)) is full
    assert main_output(full) is full


def test_empty_output_names_its_owner():
    with pytest.raises(ValueError, match=r"^SCM: the output is an empty tuple$"):
        main_output((), "SCM")


def test_losses_use_the_full_resolution_prediction():
    g = torch.Generator().manual_seed(0)
    full = torch.randn(2, 2, 4, 4, generator=g)
    half = torch.randn(2, 2, 2, 2, generator=g)
    label = torch.zeros(2, 2, 4, 4)
    label[:, 0, :2] = 1.0  # partially labelled: the rest is unlabeled
    loss = PartialCELoss({})
    alone = loss({"prediction": full, "ground_truth": label})
    assert loss({"prediction": [full, half], "ground_truth": label}) == alone
