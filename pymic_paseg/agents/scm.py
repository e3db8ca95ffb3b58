"""PA-Seg stage 2: Self and Cross Monitoring (SCM), paper section III-B, eq. 12-15.

Two networks pre-trained by stage 1, a primary (``[network]``, e.g. UNet2D5)
and an auxiliary (``[network_auxiliary]``, e.g. AttentionUNet), are trained
together. Each keeps a frozen monitor (:mod:`~pymic_paseg.agents.monitors`).
For network ``k`` and the other network ``o``::

    L_k = lambda * T^2 * KL(softmax(z_o_monitor / T) || softmax(z_k / T))      # CKD, eq. 13
        + (1 - lambda) * (CE + Dice)(P_k, pseudo label)                        # self-training
        [+ alpha * L_mcrf + beta * L_vm]                                       # anchored recipe

The loss is :class:`~pymic_paseg.objectives.scm.SCMObjective`; its ``recipe`` key picks
the paper's SCM (``paper``: own monitor's argmax, CE + PyMIC's Dice) or the anchored
variant (``anchored``: both monitors' mean, the expanded seeds override it, stage-1
regularisers kept on); see that module and docs/scm.md for the keys and measurements.

Registered as ``NLLMethodDict['PASegSCM']`` (``supervise_type = noisy_label``):
SCM learns from the noisy pseudo labels of stage 1, which is PyMIC's
noisy-label family, and that dispatch path lets the training CSV list images
only for the paper recipe (the pseudo labels come from the monitors, not from files);
the anchored recipe reads the partial-label CSV of stage 1.

Config (``[noisy_label_learning]``):

==================== ======================= =============================================
key                  default                 meaning
==================== ======================= =============================================
method_name          (required)              ``PASegSCM``
recipe               anchored                ``anchored`` or ``paper`` (objective defaults)
pseudo_label         by recipe               ``own`` (paper) or ``ensemble``
seed_labels          by recipe               the expanded seeds override pseudo labels
confidence           0                       pseudo labels below it get weight 0
alpha, beta          by recipe               stage-1 CRF / VM weights (anchored: 1, 0.1)
lambda               0.5                     KD weight in [0, 1]; 0 = self-training only,
                                             1 = KD only (paper's ablation)
temperature          4.0                     T > 0 of the soft labels
monitor_interval     20% of iter_max         refresh the monitors every K iterations
monitor_source       auto                    ``best`` (needs validation), ``latest``, or
                                             ``auto`` = best if a validation set exists
primary_checkpoint   (required for training) stage-1 checkpoint of the primary network
auxiliary_checkpoint (required for training) stage-1 checkpoint of the auxiliary network
inference_network    primary                 ``primary``, ``auxiliary`` or ``average``
monitor_amp          true                    mixed precision for monitors (GPU only)
monitor_flips        []                      axes (``depth``, ``height``, ``width``) whose
                                             flips the monitors' logits are averaged over
monitor_update       by recipe               ``refresh`` (periodic reload; ``paper``) or
                                             ``ema`` (mean teacher after every step;
                                             ``anchored``; interval and source unused)
monitor_ema_decay    0.99                    EMA decay in [0, 1)
==================== ======================= =============================================

Checkpoints: the primary uses ``ckpt_prefix`` (so ``pymic_test`` tooling finds
it), the auxiliary ``{ckpt_prefix}_auxiliary``; both carry the monitors, so a
resumed run restores networks, optimisers and monitors.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Dict, List, Optional, Tuple

from torch import nn

from pymic_paseg.agents import checkpoint as ckpt
from pymic_paseg.agents.base import Batch, PasegSegAgent, Terms
from pymic_paseg.agents.loop import TrainMember
from pymic_paseg.agents.monitors import MeanSoftmax, Monitors
from pymic_paseg.config import ConfigError, Section, look_up_option
from pymic_paseg.deep_supervision import main_output
from pymic_paseg.objectives.scm import RECIPES
from pymic_paseg.objectives.scm import KEYS as OBJECTIVE_KEYS
from pymic_paseg.objectives.scm import SCMObjective

logger = logging.getLogger(__name__)

SECTION = "noisy_label_learning"
AUX_SECTION = "network_auxiliary"
KEYS = ("method_name", "monitor_interval", "monitor_source", "primary_checkpoint",
        "auxiliary_checkpoint", "inference_network", "monitor_amp", "monitor_flips",
        "monitor_update", "monitor_ema_decay") + OBJECTIVE_KEYS
#: ``monitor_flips`` names -> tensor dimensions of an (N, C, D, H, W) batch
FLIP_AXES = {"depth": 2, "height": 3, "width": 4}
INFERENCE_CHOICES = ("primary", "auxiliary", "average")
#: the paper refreshes pseudo labels every 20 of 100 epochs.
DEFAULT_REFRESH_FRACTION = 0.2


class PASegSCMAgent(PasegSegAgent):
    """SCM agent: two networks, two monitors, cross distillation + self-training."""

    def __init__(self, config, stage: str = "train"):
        super().__init__(config, stage)
        sec = Section.of(config, SECTION, required=True)
        sec.check_keys(KEYS)
        self.inference_choice = sec.choice("inference_network", INFERENCE_CHOICES, "primary")
        Section.of(config, AUX_SECTION, required=True).raw("net_type")
        self.aux_net = None
        if stage != "train":
            return
        self.objective = SCMObjective.from_config(config, SECTION)
        iter_max = self.loop_settings.iter_max
        self.interval = sec.int("monitor_interval",
                                max(1, int(DEFAULT_REFRESH_FRACTION * iter_max)), low=1)
        has_valid = config["dataset"].get("valid_csv") is not None
        source = sec.choice("monitor_source", ("auto", "best", "latest"), "auto")
        if source == "best" and not has_valid:
            raise sec.fail("monitor_source", source, "needs [dataset] valid_csv (no validation "
                           "set: use latest or auto)")
        self.monitor_source = ("best" if has_valid else "latest") if source == "auto" else source
        self.stage1 = {"primary": sec.path("primary_checkpoint", must_exist=True),
                       "auxiliary": sec.path("auxiliary_checkpoint", must_exist=True)}
        self.monitor_amp = sec.bool("monitor_amp", True)
        flips = sec.str_list("monitor_flips", [])
        for name in flips:
            look_up_option(name, FLIP_AXES, where=f"[{SECTION}] monitor_flips")
        self.monitor_flip_dims = sorted({FLIP_AXES[name] for name in flips})
        recipe = self.objective.settings.recipe   # read and checked by the objective
        self.monitor_update = sec.choice("monitor_update", ("refresh", "ema"),
                                         RECIPES[recipe]["monitor_update"])
        if self.monitor_update == "ema":
            unused = [k for k in ("monitor_interval", "monitor_source") if sec.has(k)]
            if unused:
                logger.info("[%s] monitor_update = ema: %s unused (the monitors follow their "
                            "networks after every step)", SECTION, ", ".join(unused))
        self.ema_decay = sec.float("monitor_ema_decay", 0.99, low=0.0, high=1.0,
                                   high_open=True)
        self.monitors = None
        #: validation Dice of each network's stage-1 weights (before SCM), if validated
        self.stage1_valid: Optional[Dict[str, float]] = None

    # ------------------------------------------------------------ networks
    def create_network(self) -> None:
        super().create_network()
        if self.aux_net is None:
            from pymic.net.net_dict_seg import SegNetDict
            params = dict(self.config[AUX_SECTION])
            name = look_up_option(params.get("net_type"), SegNetDict,
                                  where=f"[{AUX_SECTION}] net_type")
            if params.get("class_num", self.config["network"]["class_num"]) != \
                    self.config["network"]["class_num"]:
                raise ConfigError(f"[{AUX_SECTION}] class_num must equal [network] class_num")
            self.aux_net = SegNetDict[name](params)
            self.aux_net = self.aux_net.float() if self.tensor_type == "float" \
                else self.aux_net.double()

    def build_members(self) -> List[TrainMember]:
        prefix = self.loop_settings.prefix
        members = [TrainMember("primary", self.net, prefix),
                   TrainMember("auxiliary", self.aux_net, f"{prefix}_auxiliary")]
        for member in members:  # stage-1 initialisation (resume may overwrite it)
            path = self.stage1[member.name]
            state = ckpt.load_checkpoint(path)
            ckpt.load_model_weights(member.net, state["model_state_dict"], path)
        return members

    def create_loss_calculator(self) -> None:
        """SCM's losses are fixed by the method; ``[training] loss_type`` is unused."""
        self.loss_calculator = None

    # ------------------------------------------------------------ monitors
    def _monitors(self) -> Monitors:
        if self.monitors is None:
            self.monitors = Monitors([m.net for m in self.members], amp=self.monitor_amp,
                                     flip_dims=self.monitor_flip_dims)
            self.monitors.last_refresh = self.glob_it
            self._sync_monitors()
        return self.monitors

    def _maybe_refresh(self) -> None:
        monitors = self._monitors()
        if self.monitor_update == "ema":
            if self.glob_it > monitors.last_refresh:   # once per optimiser step
                self.sync_buffers()
                monitors.ema_update([m.net for m in self.members], self.ema_decay)
                monitors.last_refresh = self.glob_it
                self._sync_monitors()
            return
        if self.glob_it - monitors.last_refresh < self.interval:
            return
        self.sync_buffers()  # DDP: the ranks' BatchNorm statistics, averaged
        states = []
        for member in self.members:
            use_best = self.monitor_source == "best" and member.best_state is not None
            states.append(member.best_state if use_best else member.module().state_dict())
        monitors.refresh(states, self.glob_it)
        self._sync_monitors()

    def _sync_monitors(self) -> None:
        """DDP: every rank's monitors take rank 0's weights and BatchNorm statistics
        (the ranks' running statistics differ between DDP's buffer broadcasts)."""
        for monitor in self.monitors.copies:
            self._dist().broadcast_module(monitor)

    # ------------------------------------------------------------ stage-1 reference
    def on_train_start(self, start_it: int) -> None:
        """Validate the stage-1 weights once, so the log says whether SCM improved on them."""
        if start_it == 0 and self.stage1_valid is None:
            scalars = self.validate_round()
            if scalars is not None:
                self.stage1_valid = {m.name: self.member_dice(scalars, i)
                                     for i, m in enumerate(self.members)}
                logger.info("stage-1 weights before SCM: valid dice %s", ", ".join(
                    f"{name} {dice:.4f}" for name, dice in self.stage1_valid.items()))
                if "diag" in scalars:
                    logger.info("stage-1 weights before SCM: diagnostics %s", scalars["diag"])

    def on_train_end(self) -> None:
        if not self.stage1_valid:
            return
        for member in self.members:
            before = self.stage1_valid.get(member.name)
            if before is not None and member.best_it and member.best_dice < before:
                logger.warning(
                    "%s: SCM's best validation Dice %.4f (iteration %d) is below the stage-1 "
                    "weights' %.4f: SCM did not improve this network on the validation set",
                    member.name, member.best_dice, member.best_it, before)

    def diagnostic_networks(self) -> Dict[str, nn.Module]:
        """The trained networks, then each monitor and their softmax mean (the pseudo labels)."""
        nets = super().diagnostic_networks()
        if self.monitors is not None:
            for member, monitor in zip(self.members, self.monitors.copies):
                nets[f"monitor_{member.name}"] = monitor
            nets["monitor_mean"] = MeanSoftmax(self.monitors.copies)
        return nets

    def extra_state(self) -> Dict[str, Any]:
        state: Dict[str, Any] = {"stage1_valid": self.stage1_valid}
        if self.monitors is not None:
            state["monitors"] = self.monitors.state()
        return state

    def load_extra_state(self, state: Dict[str, Any]) -> None:
        self._monitors().load_state(state.get("monitors"))
        self.stage1_valid = state.get("stage1_valid")

    # ------------------------------------------------------------ losses
    def compute_losses(self, batch: Batch) -> Dict[str, Terms]:
        self._maybe_refresh()
        images = batch["image"]
        monitor_logits = self.monitors.predict(images)
        outputs = []
        for member in self.members:
            out = member.net(images)
            outputs.append(main_output(out))
        terms = self.objective(batch, outputs, monitor_logits)
        return {member.name: t for member, t in zip(self.members, terms)}

    # ------------------------------------------------------------ inference
    def inference_networks(self) -> List[Tuple[nn.Module, str]]:
        primary = (self.net, self.inference_checkpoint())
        if self.inference_choice == "primary":
            return [primary]
        aux_ckpt = self._auxiliary_checkpoint(primary[1])
        if self.inference_choice == "auxiliary":
            return [(self.aux_net, aux_ckpt)]
        return [primary, (self.aux_net, aux_ckpt)]

    def _auxiliary_checkpoint(self, primary_path: str) -> str:
        """The auxiliary checkpoint saved beside ``primary_path`` at the same iteration."""
        ckpt_dir, prefix = ckpt.checkpoint_location(self.config)
        name = os.path.basename(primary_path)
        if name.startswith(prefix + "_") and not name.startswith(prefix + "_auxiliary"):
            candidate = os.path.join(os.path.dirname(primary_path),
                                     f"{prefix}_auxiliary_{name[len(prefix) + 1:]}")
            if os.path.isfile(candidate):
                return candidate
        mode = Section.of(self.config, "testing").int("ckpt_mode", 0, low=0, high=3)
        return str(ckpt.find_checkpoint(ckpt_dir, f"{prefix}_auxiliary", min(mode, 1)))
