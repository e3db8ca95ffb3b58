"""What the image-guided losses (CRF, VM, ...) read from a training batch, besides the
prediction: one place for both objectives (:mod:`.stage1`, :mod:`.scm`)."""
from __future__ import annotations

from typing import Any, Dict, Mapping

from pymic_paseg.transforms.valid_region import valid_mask_from_label

__all__ = ["image_context"]


def image_context(batch: Mapping[str, Any]) -> Dict[str, Any]:
    """``{"image": ...}`` plus, when the batch carries them, ``"spacing"`` (the voxel size
    PyMIC reads from the header, for ``MultiViewCRFLoss_spacing = image``) and
    ``"valid_mask"`` (Ω_M coded into ``data["label"]`` by ``ValidRegionMask``)."""
    image = batch["image"]
    data = batch.get("data", {})
    context: Dict[str, Any] = {"image": image}
    if data.get("spacing") is not None:
        context["spacing"] = data["spacing"]
    mask = valid_mask_from_label(data.get("label"))
    if mask is not None:
        context["valid_mask"] = mask.to(image.device)
    return context
