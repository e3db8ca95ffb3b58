"""Validation and input plumbing shared by the PA-Seg losses.

Pure functions call the ``check_*`` helpers at their top; PyMIC wrappers use
:func:`read_activation`, :func:`get_prediction`, :func:`activate` and
:func:`get_image` to turn a PyMIC ``loss_input_dict`` into tensors.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import torch
import torch.nn.functional as F

from pymic_paseg.config import Section
from pymic_paseg.deep_supervision import main_output

__all__ = [
    "MissingImageError", "ACTIVATIONS", "check_tensor", "check_same_shape",
    "check_weight_map", "check_image", "read_activation", "get_prediction", "activate",
    "get_image",
]

#: values of PyMIC's ``loss_acti_func`` that our losses accept (None means "none").
ACTIVATIONS = ("softmax", "sigmoid", "none")

STAGE1_HINT = (
    "It needs the input image, which PyMIC's fully supervised agent does not pass to "
    "losses. Train with the PA-Seg stage-1 method instead of listing it in "
    "[training] loss_type of a fully supervised config: set [dataset] supervise_type = "
    "weak_sup and [weakly_supervised_learning] method_name = PASegStage1.")


class MissingImageError(ValueError):
    """A loss that needs the image was called without ``loss_input_dict['image']``."""


def _describe(x: Any) -> str:
    if isinstance(x, torch.Tensor):
        return f"tensor of shape {tuple(x.shape)}, dtype {x.dtype}, device {x.device}"
    return type(x).__name__


def check_tensor(name: str, x: Any, ndims: Sequence[int] = (4, 5),
                 floating: bool = True) -> None:
    """Raise ``TypeError``/``ValueError`` unless ``x`` is a tensor with one of ``ndims``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor. Got: {_describe(x)}")
    if x.dim() not in ndims:
        want = " or ".join(f"{n}D" for n in ndims)
        raise ValueError(f"{name}: expected a {want} tensor (N x C x [D x] H x W). "
                         f"Got: {_describe(x)}")
    if floating and not x.is_floating_point():
        raise TypeError(f"{name}: expected a floating point tensor. Got: {_describe(x)}")


def check_same_shape(name: str, x: torch.Tensor, ref_name: str, ref: torch.Tensor) -> None:
    if x.shape != ref.shape:
        raise ValueError(f"{name}: expected the shape of {ref_name} {tuple(ref.shape)}. "
                         f"Got: {tuple(x.shape)}")
    _check_device(name, x, ref_name, ref)


def _check_device(name: str, x: torch.Tensor, ref_name: str, ref: torch.Tensor) -> None:
    if x.device != ref.device:
        raise ValueError(f"{name}: expected the device of {ref_name} ({ref.device}). "
                         f"Got: {x.device}")


def check_weight_map(name: str, w: torch.Tensor, probs: torch.Tensor) -> None:
    """``w`` must be N x 1 x spatial (same N and spatial size as ``probs``)."""
    check_tensor(name, w, floating=False)
    want = (probs.shape[0], 1) + tuple(probs.shape[2:])
    if tuple(w.shape) != want:
        raise ValueError(f"{name}: expected shape {want} (N x 1 x spatial). "
                         f"Got: {tuple(w.shape)}")
    _check_device(name, w, "probs", probs)


def check_image(name: str, image: torch.Tensor, probs: torch.Tensor) -> None:
    """``image`` must be N x Cin x spatial with the spatial size of ``probs``."""
    check_tensor(name, image)
    if image.dim() != probs.dim() or image.shape[0] != probs.shape[0] \
            or image.shape[2:] != probs.shape[2:]:
        want = (probs.shape[0], "Cin") + tuple(probs.shape[2:])
        raise ValueError(f"{name}: expected shape {want} (N x Cin x spatial of probs). "
                         f"Got: {tuple(image.shape)}")
    _check_device(name, image, "probs", probs)


def read_activation(section: Section) -> str:
    """PyMIC's ``loss_acti_func`` ("softmax" default, "sigmoid", or None/"none")."""
    if "loss_acti_func" in section.values and section.values["loss_acti_func"] is None:
        return "none"
    return section.choice("loss_acti_func", ACTIVATIONS, default="softmax")


def get_prediction(loss_input_dict: Mapping[str, Any], owner: str) -> torch.Tensor:
    """``loss_input_dict['prediction']``; for deep supervision (list/tuple) the first one."""
    if "prediction" not in loss_input_dict:
        raise KeyError(f"{owner}: loss_input_dict has no 'prediction'")
    pred = main_output(loss_input_dict["prediction"], f"{owner}: 'prediction'")
    check_tensor(f"{owner}: prediction", pred)
    return pred


def activate(pred: torch.Tensor, acti: str) -> torch.Tensor:
    """Probabilities from the network output, as PyMIC's ``loss_acti_func`` says."""
    if acti == "softmax":
        return F.softmax(pred, dim=1)
    if acti == "sigmoid":
        return torch.sigmoid(pred)
    return pred


def get_image(loss_input_dict: Mapping[str, Any], owner: str) -> torch.Tensor:
    image = loss_input_dict.get("image")
    if image is None:
        raise MissingImageError(f"{owner}: loss_input_dict has no 'image'. {STAGE1_HINT}")
    return image


def optional_tensor(loss_input_dict: Mapping[str, Any], key: str) -> Optional[torch.Tensor]:
    value = loss_input_dict.get(key)
    return value if isinstance(value, torch.Tensor) else None


def get_label(loss_input_dict: Mapping[str, Any], owner: str, probs: torch.Tensor,
              instead: str) -> torch.Tensor:
    """``ground_truth`` (one-hot, the prediction's shape), for a loss that can also take
    the ready-made input ``instead`` (e.g. ``target_volume``)."""
    target = loss_input_dict.get("ground_truth")
    if target is None:
        raise KeyError(f"{owner}: loss_input_dict has neither '{instead}' nor 'ground_truth'")
    check_tensor(f"{owner}: ground_truth", target, floating=False)
    check_same_shape(f"{owner}: ground_truth", target, "prediction", probs)
    return target
