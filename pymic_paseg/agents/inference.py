"""Device-aware inference that writes predictions atomically, case by case.

Replaces PyMIC's ``SegmentationAgent.infer`` (which hard-codes ``cuda:N``).
Each test case is loaded, predicted and written on its own: a case that
fails (unreadable file, shape error...) is reported and the others are still
written. Predictions are NIfTI files with the input image's geometry (PyMIC's
``save_nd_array_as_image`` with the input as reference), written to a
temporary name and renamed.
"""
from __future__ import annotations

import copy
import logging
import os
import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import scipy.special
import torch
from torch import nn
from torch.utils.data.dataloader import default_collate

from pymic_paseg.agents import checkpoint as ckpt
from pymic_paseg.agents.device import resolve_device
from pymic_paseg.config import Section
from pymic_paseg.deep_supervision import main_output
from pymic_paseg.errors import InferenceError
from pymic_paseg.io_atomic import atomic_path
from pymic_paseg.io_guard import check_outputs

logger = logging.getLogger(__name__)


class InferenceMixin:
    """Provides ``infer()`` and an atomic ``save_outputs()`` for PyMIC agents."""

    # --------------------------------------------------------------- hooks
    def inference_checkpoint(self) -> str:
        """Checkpoint file for ``[testing] ckpt_mode`` 0 (latest), 1 (best) or 2 (ckpt_name)."""
        test = Section.of(self.config, "testing")
        mode = test.int("ckpt_mode", 0, low=0, high=3)
        if mode == 2:
            return test.path("ckpt_name", must_exist=True)
        ckpt_dir, prefix = ckpt.checkpoint_location(self.config)
        return str(ckpt.find_checkpoint(ckpt_dir, prefix, mode))

    def inference_networks(self) -> List[Tuple[nn.Module, str]]:
        """``(network, checkpoint)`` pairs whose softmax outputs are averaged."""
        test = Section.of(self.config, "testing")
        if test.int("ckpt_mode", 0, low=0, high=3) == 3:
            return [(self.net, name) for name in test.str_list("ckpt_name")]
        return [(self.net, self.inference_checkpoint())]

    # --------------------------------------------------------------- infer
    def _prepare_inference(self) -> List[nn.Module]:
        from pymic.net_run.infer_func import Inferer
        plan = resolve_device(self.config, "testing")
        self.device = plan.device
        nets: List[nn.Module] = []
        for net, path in self.inference_networks():
            state = ckpt.load_checkpoint(path, map_location="cpu")
            # the same module listed twice (ckpt_mode 3 ensembles) needs its own copy
            model = copy.deepcopy(net) if any(net is n for n in nets) else net
            ckpt.load_model_weights(model, state["model_state_dict"], path)
            model.to(self.device)
            logger.info("inference with %s on %s", path, self.device)
            nets.append(model)
        test = self.config["testing"]
        for model in nets:
            if test.get("evaluation_mode", True):
                model.eval()
            if test.get("test_time_dropout", False):
                for layer in model.modules():
                    if isinstance(layer, nn.Dropout):
                        layer.train()
        if self.inferer is None:
            infer_cfg = dict(test)
            infer_cfg["class_num"] = self.config["network"]["class_num"]
            self.inferer = Inferer(infer_cfg)
        name = test.get("post_process", None)
        if self.postprocessor is None and name is not None:
            self.postprocessor = self.postprocess_dict[name](test)
        return nets

    def _predict(self, nets: List[nn.Module], images: torch.Tensor) -> np.ndarray:
        """Network output for ``images``: logits, or log mean softmax for an ensemble."""
        if len(nets) == 1:
            pred = self.inferer.run(nets[0], images)
            pred = main_output(pred)
            return pred.float().cpu().numpy()
        probs = []
        for model in nets:
            pred = main_output(self.inferer.run(model, images))
            probs.append(torch.softmax(pred.float(), dim=1).cpu().numpy())
        mean = np.mean(probs, axis=0)
        return np.log(np.clip(mean, 1e-12, None))

    def infer(self) -> None:
        nets = self._prepare_inference()
        failures: Dict[str, str] = {}
        durations = []
        with torch.inference_mode():
            for index in range(len(self.test_set)):
                case = self._case_name(index)
                try:
                    start = time.time()
                    data = default_collate([self.test_set[index]])
                    images = self.convert_tensor_type(data["image"]).to(self.device)
                    data["predict"] = self._predict(nets, images)
                    for transform in self.test_transforms[::-1]:
                        if transform.inverse:
                            data = transform.inverse_transform_for_prediction(data)
                    self.save_outputs(data)
                    durations.append(time.time() - start)
                except Exception as exc:  # report and go on with the next case
                    failures[case] = f"{type(exc).__name__}: {exc}"
                    logger.error("case %s failed: %s", case, failures[case])
        if durations:
            logger.info("inference: %d case(s), %.2f +/- %.2f s each", len(durations),
                        float(np.mean(durations)), float(np.std(durations)))
        if failures:
            lines = "\n".join(f"  {k}: {v}" for k, v in failures.items())
            raise InferenceError(f"{len(failures)} of {len(self.test_set)} case(s) failed "
                                 f"(the others were written):\n{lines}")

    def _case_name(self, index: int) -> str:
        items = getattr(self.test_set, "csv_items", None)
        return str(items.iloc[index, 0]) if items is not None else f"#{index}"

    # --------------------------------------------------------------- output
    def save_outputs(self, data: Dict[str, Any]) -> None:
        from pymic.io.image_read_write import save_nd_array_as_image
        from pymic.util.image_process import convert_label
        test = self.config["testing"]
        output_dir = test["output_dir"]
        pred = data["predict"]
        pred = main_output(pred)
        prob = scipy.special.softmax(pred, axis=1)
        output = np.asarray(np.argmax(prob, axis=1), np.uint8)
        if test.get("label_source") is not None and test.get("label_target") is not None:
            output = convert_label(output, test["label_source"], test["label_target"])
        if self.postprocessor is not None:
            for i in range(output.shape[0]):
                output[i] = self.postprocessor(output[i])
        root = self.config["dataset"].get("test_dir") or self.config["dataset"]["train_dir"]
        for i in range(output.shape[0]):
            name = data["names"][0][i]
            save_name = self._output_name(name, test)
            reference = os.path.join(root, name)
            check_outputs({"prediction": os.path.join(output_dir, save_name)}, [reference])
            with atomic_path(os.path.join(output_dir, save_name)) as tmp:
                save_nd_array_as_image(output[i], tmp, reference)
            if test.get("save_probability", False):
                self._save_probability(prob[i], output_dir, save_name, reference)

    @staticmethod
    def _output_name(name: str, test: Dict[str, Any]) -> str:
        keep_dirs = not test.get("filename_ignore_dir", True)
        save_name = name.replace("/", "_") if keep_dirs else os.path.basename(name)
        source = test.get("filename_replace_source")
        target = test.get("filename_replace_target")
        if source is not None and target is not None:
            save_name = save_name.replace(source, target)
        return save_name

    @staticmethod
    def _save_probability(prob: np.ndarray, output_dir: str, save_name: str,
                          reference: Optional[str]) -> None:
        from pymic.io.image_read_write import save_nd_array_as_image
        stem, ext = (save_name[:-7], ".nii.gz") if save_name.endswith(".nii.gz") \
            else os.path.splitext(save_name)
        for c in range(prob.shape[0]):
            target = os.path.join(output_dir, f"{stem}_prob_{c}{ext}")
            with atomic_path(target) as tmp:
                save_nd_array_as_image(prob[c].astype(np.float32), tmp, reference)
