"""Optional training diagnostics: how the networks (and SCM's pseudo labels) fare on training cases.

Off by default. With ``[dataset] diagnostic_csv`` naming a CSV of training cases
*with dense labels* (``image,label``; e.g. the demo's ``train.csv``), every validation
round also infers on those cases (full volumes, the validation transforms) and logs,
for each network the agent exposes (the trained networks and, for SCM, its monitors,
whose argmax is the pseudo label):

* ``dice``: mean Dice against the dense labels;
* ``volume_ratio``: mean predicted / true foreground volume (< 1: under-segmentation);
* ``agreement``: mean Dice between the first two networks' predictions.

The figures land in the log, the TensorBoard scalars and the curves CSV under
``valid/diag/...``. They never influence training or checkpoint selection.

Keys (``[dataset]``): ``diagnostic_csv`` (path, default none = off),
``diagnostic_cases`` (int >= 1, default 8: the first N rows).
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np
import torch
from torch import nn

from pymic_paseg.agents.rng_state import capture_rng, restore_rng
from pymic_paseg.config import Section
from pymic_paseg.deep_supervision import main_output

__all__ = ["KEYS", "dice_and_volume_ratio", "summarise", "TrainingDiagnostics"]

logger = logging.getLogger(__name__)

KEYS = ("diagnostic_csv", "diagnostic_cases")
DEFAULT_CASES = 8


def dice_and_volume_ratio(pred: np.ndarray, truth: np.ndarray) -> Dict[str, float]:
    """Dice and predicted/true volume of two binary masks (1.0 / NaN when ``truth`` is empty)."""
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    p, t = int(pred.sum()), int(truth.sum())
    inter = int(np.logical_and(pred, truth).sum())
    dice = 1.0 if p + t == 0 else 2.0 * inter / (p + t)
    return {"dice": dice, "volume_ratio": p / t if t else float("nan")}


def summarise(preds: Mapping[str, List[np.ndarray]], truths: List[np.ndarray]) -> Dict[str, Any]:
    """Mean Dice and volume ratio per network, and the first two networks' agreement."""
    out: Dict[str, Any] = {}
    for name, masks in preds.items():
        rows = [dice_and_volume_ratio(m, t) for m, t in zip(masks, truths)]
        out[name] = {k: float(np.nanmean([r[k] for r in rows])) for k in ("dice", "volume_ratio")}
    names = list(preds)
    if len(names) >= 2:
        pairs = zip(preds[names[0]], preds[names[1]])
        out["agreement"] = float(np.mean([dice_and_volume_ratio(a, b)["dice"] for a, b in pairs]))
    return out


class TrainingDiagnostics:
    """Infers on the diagnostic cases with given networks; see the module docstring."""

    def __init__(self, agent: Any, csv_path: str, cases: int):
        self.agent = agent
        self.csv_path = csv_path
        self.cases = cases
        self._cases: Optional[List[Tuple[torch.Tensor, np.ndarray]]] = None

    @classmethod
    def from_config(cls, agent: Any, config: Mapping[str, Any]) -> Optional["TrainingDiagnostics"]:
        sec = Section.of(config, "dataset")
        path = sec.path("diagnostic_csv", None, must_exist=True)
        if path is None:
            return None
        return cls(agent, str(path), sec.int("diagnostic_cases", DEFAULT_CASES, low=1))

    def _data(self) -> List[Tuple[torch.Tensor, np.ndarray]]:
        """``(image, truth)`` of each diagnostic case, read and transformed once (the
        validation transforms are deterministic)."""
        if self._cases is None:
            from pymic.io.nifty_dataset import NiftyDataset
            from torchvision import transforms
            names, params = self.agent.get_transform_names_and_parameters("valid")
            dataset = NiftyDataset(
                root_dir=self.agent.config["dataset"].get("train_dir"), csv_file=self.csv_path,
                modal_num=self.agent.config["dataset"].get("modal_num", 1), image_dim=3,
                allow_missing_modal=False, label_key="label",
                transform=transforms.Compose(self.agent.get_data_transform_list(names, params)),
                task=self.agent.task_type)
            dataset.csv_items = dataset.csv_items.iloc[:self.cases]
            self._cases = []
            for data in torch.utils.data.DataLoader(dataset, batch_size=1, shuffle=False):
                if "label_prob" not in data:
                    raise ValueError(f"[dataset] diagnostic_csv = {self.csv_path}: the validation "
                                     "transforms gave no label_prob (a CSV with a label column "
                                     "and LabelToProbability in valid_transform are needed)")
                self._cases.append((self.agent.convert_tensor_type(data["image"]),
                                    data["label_prob"][0].argmax(0).numpy() > 0))
        return self._cases

    def run(self, nets: Mapping[str, nn.Module]) -> Dict[str, Any]:
        """Diagnostics of ``nets`` (name -> network), in eval mode, without gradients. The
        random number generators are restored afterwards: reading the cases starts a data
        loader, which draws from torch's global generator, and would otherwise shift every
        later dropout mask and augmentation of the training."""
        state = capture_rng()
        try:
            return self._run(nets)
        finally:
            restore_rng(state)

    def _run(self, nets: Mapping[str, nn.Module]) -> Dict[str, Any]:
        inferer = self.agent._validation_inferer()
        preds: Dict[str, List[np.ndarray]] = {name: [] for name in nets}
        cases = self._data()
        with torch.no_grad():
            for image, _ in cases:
                images = image.to(self.agent.device)
                for name, net in nets.items():
                    was_training = net.training
                    net.eval()
                    out = inferer.run(net, images)
                    out = main_output(out)
                    preds[name].append(out[0].argmax(0).cpu().numpy() > 0)
                    net.train(was_training)
        return summarise(preds, [truth for _, truth in cases])
