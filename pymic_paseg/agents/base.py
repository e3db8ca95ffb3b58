"""Base class of pymic_paseg's agents: the shared inner loop with a loss-terms hook.

A method agent overrides only:

* :meth:`PasegSegAgent.loss_terms` -> ``{name: tensor}`` (unweighted terms) and
  :meth:`PasegSegAgent.term_weights` -> ``{name: weight}``; or, for agents with
  several networks,
* :meth:`PasegSegAgent.compute_losses` -> ``{member: {name: tensor}}``.

Everything else (device, batches, backward, optimiser steps, validation Dice
per network, logging, checkpoints, resume, inference) is shared.
"""
from __future__ import annotations

import logging
import time
from collections import defaultdict
from typing import Any, Dict, List, Optional

import numpy as np
import torch
from pymic.net_run.agent_seg import SegmentationAgent

from pymic_paseg.agents.diagnostics import TrainingDiagnostics
from pymic_paseg.agents.guards import gradients_ok
from pymic_paseg.agents.loop import DeviceAwareLoop
from pymic_paseg.agents.rng_state import CountingIterator
from pymic_paseg.deep_supervision import main_output

logger = logging.getLogger(__name__)

Batch = Dict[str, Any]
Terms = Dict[str, torch.Tensor]


class PasegSegAgent(DeviceAwareLoop, SegmentationAgent):
    """Segmentation agent running the shared loop; subclasses add loss terms."""

    counts_iterations = True

    def __init__(self, config, stage: str = "train"):
        super().__init__(config, stage)
        #: optional diagnostics on densely labelled training cases (``[dataset] diagnostic_csv``)
        self.diagnostics = (TrainingDiagnostics.from_config(self, config)
                            if stage == "train" else None)

    def diagnostic_networks(self) -> Dict[str, torch.nn.Module]:
        """Networks the diagnostics evaluate (name -> network): the trained ones."""
        return {m.name: m.module() for m in self.members}

    # ------------------------------------------------------------ hooks
    def loss_terms(self, batch: Batch, outputs: Any) -> Terms:
        """Unweighted loss terms for the primary network. Default: PyMIC's configured loss."""
        return {"sup": self.get_loss_value(batch["data"], outputs, batch["label_prob"])}

    def term_weights(self) -> Dict[str, float]:
        """Weight of each term at ``self.glob_it`` (missing names weigh 1)."""
        return {}

    def compute_losses(self, batch: Batch) -> Dict[str, Terms]:
        """Per-network loss terms; each dict must contain ``"loss"`` (what is back-propagated)."""
        outputs = self.net(batch["image"])
        terms = self.loss_terms(batch, outputs)
        weights = self.term_weights()
        total = sum(weights.get(name, 1.0) * value for name, value in terms.items())
        return {self.members[0].name: {"loss": total, **terms}}

    # ------------------------------------------------------------ batches
    def next_batch(self) -> Dict[str, Any]:
        try:
            return next(self.trainIter)
        except StopIteration:  # a new epoch; the iterator records where it started
            self.trainIter = CountingIterator(self.train_loader)
            return next(self.trainIter)

    def prepare_batch(self, data: Dict[str, Any]) -> Batch:
        """Move what the losses need to the device, in the configured dtype."""
        batch: Batch = {"data": data,
                        "image": self.convert_tensor_type(data["image"]).to(self.device)}
        for key in ("label_prob", "pixel_weight"):
            if key in data:
                batch[key] = self.convert_tensor_type(data[key]).to(self.device)
        return batch

    # ------------------------------------------------------------ inner loop
    def training(self) -> Dict[str, Any]:
        count = self.round_length()
        sums: Dict[str, float] = defaultdict(float)
        data_time = step_time = 0.0
        done = skipped = 0
        for member in self.members:
            member.net.train()
        for _ in range(count):
            if self.stop_requested():  # SIGINT / SIGTERM: the loop saves and exits
                break
            t0 = time.time()
            batch = self.prepare_batch(self.next_batch())
            t1 = time.time()
            for member in self.members:
                member.optimizer.zero_grad(set_to_none=True)
            losses = self.compute_losses(batch)
            total = sum(terms["loss"] for terms in losses.values())
            if not torch.isfinite(total):
                raise FloatingPointError(f"non-finite loss at iteration {self.glob_it}: "
                                         + str({m: {k: float(v) for k, v in t.items()}
                                                for m, t in losses.items()}))
            total.backward()
            if gradients_ok(self.members, self.glob_it, self.loop_settings.nonfinite_gradients):
                for member in self.members:
                    member.optimizer.step()
            else:
                skipped += 1
            self.glob_it += 1
            done += 1
            data_time, step_time = data_time + t1 - t0, step_time + time.time() - t1
            self._accumulate(sums, losses)
            self._rounds.step(1, loss=float(total.detach()))
        scalars: Dict[str, Any] = {k: v / max(done, 1) for k, v in sums.items()}
        for name, weight in self.term_weights().items():
            scalars[f"weight_{name}"] = float(weight)
        if skipped:
            scalars["skipped_steps"] = skipped
        scalars.update(data_time=data_time, forward_time=step_time)
        return scalars

    def _accumulate(self, sums: Dict[str, float], losses: Dict[str, Terms]) -> None:
        single = len(losses) == 1
        for member, terms in losses.items():
            for name, value in terms.items():
                key = name if single else f"{member}/{name}"
                sums[key] += float(value.detach())

    # ------------------------------------------------------------ validation
    def _validation_inferer(self):
        from pymic.net_run.infer_func import Inferer
        if self.inferer is None:
            test = self.config.get("testing", {})
            cfg = {"class_num": self.config["network"]["class_num"],
                   "sliding_window_enable": test.get("sliding_window_enable", False)}
            if cfg["sliding_window_enable"]:
                size = self.config["dataset"].get("patch_size") or test["sliding_window_size"]
                cfg["sliding_window_size"] = size
                cfg["sliding_window_stride"] = [s // 2 for s in size]
            self.inferer = Inferer(cfg)
        return self.inferer

    def validation(self) -> Optional[Dict[str, Any]]:
        """Dice of each network on the (densely labelled) validation set, if any."""
        from pymic.loss.seg.util import get_classwise_dice, get_soft_label
        from pymic.loss.seg.util import reshape_prediction_and_ground_truth
        if getattr(self, "valid_loader", None) is None:
            return None
        class_num = self.config["network"]["class_num"]
        inferer = self._validation_inferer()
        dice: Dict[str, List[np.ndarray]] = {m.name: [] for m in self.members}
        with torch.no_grad():
            for member in self.members:
                member.net.eval()
            for data in self.valid_loader:
                if "label_prob" not in data:
                    raise ValueError("validation data has no label_prob: add "
                                     "LabelToProbability to [dataset] valid_transform")
                images = self.convert_tensor_type(data["image"]).to(self.device)
                labels = self.convert_tensor_type(data["label_prob"]).to(self.device)
                for member in self.members:
                    out = main_output(inferer.run(member.module(), images))  # DDP: rank 0
                    soft = get_soft_label(torch.argmax(out, 1, keepdim=True), class_num,
                                          self.tensor_type)
                    for i in range(images.shape[0]):
                        s, g = reshape_prediction_and_ground_truth(soft[i:i + 1], labels[i:i + 1])
                        dice[member.name].append(get_classwise_dice(s, g).cpu().numpy())
        per_member = {}
        for name, values in dice.items():
            cls = np.asarray(values).mean(axis=0)
            per_member[name] = {"avg_fg_dice": float(cls[1:].mean()), "class_dice": cls}
        primary = per_member[self.members[0].name]
        result = {"avg_fg_dice": primary["avg_fg_dice"], "class_dice": primary["class_dice"]}
        if len(per_member) > 1:
            result["members"] = per_member
        if getattr(self, "diagnostics", None) is not None:
            result["diag"] = self.diagnostics.run(self.diagnostic_networks())
        return result
