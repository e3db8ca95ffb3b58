"""PA-Seg losses for PyMIC; see COMPONENTS for what gets registered.

Each loss is a typed pure function (what tests and other code call) plus a thin
PyMIC wrapper ``nn.Module`` taking the ``[training]`` section:

* :func:`partial_ce_loss` / :class:`PartialCELoss` (eq. 4)
* :func:`partial_dice_loss` / :class:`PartialDiceLoss` (eq. 5)
* :func:`multiview_crf_loss` / :class:`MultiViewCRFLoss` (eq. 6-8)
* :func:`variance_minimization_loss` / :class:`VarianceMinimizationLoss` (eq. 9-10)
* :func:`size_constraint_loss` / :class:`SizeConstraintLoss` (Table II baseline)
* :func:`tightness_prior_loss` / :class:`TightnessPriorLoss` (Table II baseline)
"""
from pymic_paseg.losses._checks import MissingImageError
from pymic_paseg.losses.distillation import CrossDistillationLoss, distillation_loss
from pymic_paseg.losses.multiview_crf import MultiViewCRFLoss, multiview_crf_loss
from pymic_paseg.losses.partial_ce import PartialCELoss, partial_ce_loss
from pymic_paseg.losses.partial_dice import PartialDiceLoss, partial_dice_loss
from pymic_paseg.losses.size_constraint import SizeConstraintLoss, size_constraint_loss
from pymic_paseg.losses.tightness_prior import TightnessPriorLoss, tightness_prior_loss
from pymic_paseg.losses.variance import (VarianceMinimizationLoss, valid_region,
                                         variance_minimization_loss)

__all__ = [
    "MissingImageError", "PartialCELoss", "partial_ce_loss", "PartialDiceLoss",
    "partial_dice_loss", "MultiViewCRFLoss", "multiview_crf_loss",
    "VarianceMinimizationLoss", "variance_minimization_loss", "valid_region",
    "CrossDistillationLoss", "distillation_loss", "SizeConstraintLoss",
    "size_constraint_loss", "TightnessPriorLoss", "tightness_prior_loss", "COMPONENTS",
]

COMPONENTS: list = [
    ("PartialCELoss", "SegLossDict", PartialCELoss),
    ("PartialDiceLoss", "SegLossDict", PartialDiceLoss),
    ("MultiViewCRFLoss", "SegLossDict", MultiViewCRFLoss),
    ("VarianceMinimizationLoss", "SegLossDict", VarianceMinimizationLoss),
    ("CrossDistillationLoss", "SegLossDict", CrossDistillationLoss),
    ("SizeConstraintLoss", "SegLossDict", SizeConstraintLoss),
    ("TightnessPriorLoss", "SegLossDict", TightnessPriorLoss),
]
