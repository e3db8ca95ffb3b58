"""Multi-view CRF loss: windowed relaxed Potts energy in axial, sagittal, coronal slices."""
from __future__ import annotations

import math
from typing import Any, List, Mapping, Optional, Sequence, Union

import torch
import torch.nn as nn

from pymic_paseg.config import ConfigError, Section, look_up_option
from pymic_paseg.losses import crf_scale
from pymic_paseg.losses._checks import (activate, check_image, check_tensor, get_image,
                                        get_prediction, read_activation)
from pymic_paseg.losses._crf_args import (INTENSITY_NORMS, VIEWS, axis_sigmas, check_positive,
                                          normalise, per_axis, sums_to_one, views_and_weights,
                                          window_radii)
from pymic_paseg.losses._window_energy import WindowPottsEnergy, offset_table

__all__ = ["multiview_crf_loss", "MultiViewCRFLoss", "VIEWS", "INTENSITY_NORMS"]



def multiview_crf_loss(probs: torch.Tensor, image: torch.Tensor, *,
                       radius: Union[int, Sequence[int]] = 5,
                       spatial_sigma: Union[float, Sequence[float]] = 6.0,
                       intensity_sigma: float = 0.1, views: Sequence[str] = VIEWS,
                       view_weights: Optional[Sequence[float]] = None,
                       spacing: Optional[Sequence[float]] = None,
                       intensity_norm: str = "none", cpu_threads: int = 0) -> torch.Tensor:
    r"""Multi-view CRF loss of PA-Seg (eq. 6-8), evaluated in a window at full resolution.

    For a 2D slice ``s`` of view ``v`` (pixels Omega^(s)):

    .. math::

        E(P^{(s)}) = \sum_{i \ne j \in \Omega^{(s)},\, |r_i - r_j|_a \le \rho_a}
            K_{ij} \sum_{c=0}^{C-1} p_{ic} (1 - p_{jc}),\qquad
        K_{ij} = \exp\Big(-\frac{\|r_i - r_j\|^2}{2\sigma_s^2}
                          -\frac{\|x_i - x_j\|^2}{2\sigma_x^2}\Big)

    ``p_ic``: probability of class ``c`` at pixel ``i``; ``r_i``: its position (voxel
    indices, or millimetres if ``spacing`` is given); ``x_i``: its image intensity
    vector (all ``Cin`` channels, after ``intensity_norm``); ``rho_a``: window radius
    along in-plane axis ``a``. The loss of a view averages ``E / |Omega^(s)|`` over
    its slices and over batch items; the views are averaged with ``view_weights``:

    .. math::

        L_v = \frac{1}{N\,D H W} \sum_n \sum_{s \in v} E(P_n^{(s)}),\qquad
        \mathcal{L}_{mcrf} = \frac{\sum_v \omega_v L_v}{\sum_v \omega_v}.

    Axis convention: ``D`` = axial slice index (z), ``H`` = y, ``W`` = x. Axial slices
    are the ``H x W`` planes, sagittal the ``D x H`` planes (one per x), coronal the
    ``D x W`` planes (one per y). A 2D input ``N x C x H x W`` is a single slice:
    ``E / (N H W)``; ``views`` and ``view_weights`` are then ignored.

    Args:
        probs: probabilities ``N x C x D x H x W`` or ``N x C x H x W``.
        image: ``N x Cin x`` (same spatial size); no gradient flows to it.
        radius: window radius ``rho`` (int >= 1), or per-axis radii ``(D, H, W)``
            (ints >= 0; ``(H, W)`` also accepted for 2D). An int with ``spacing``
            counts voxels along the finest axis: ``rho_a = floor(radius *
            min(spacing) / spacing_a)``, i.e. the same extent in mm on every axis.
        spatial_sigma: ``sigma_s`` > 0, in voxels, or in mm if ``spacing`` is given; or
            one per axis ``(D, H, W)`` (``|r_i - r_j|^2 / sigma_s^2`` becomes
            ``sum_a (r_ia - r_ja)^2 / sigma_a^2``), e.g. the original's kernel, isotropic
            on its coarse grid, mapped to mm (``docs/stage1.md``).
        intensity_sigma: ``sigma_x`` > 0, in units of the (normalised) image.
        views: non-empty subset of ``("axial", "sagittal", "coronal")``;
            ``("axial",)`` is the paper's 2D loss ``L_crf^A`` of the ablation.
        view_weights: ``omega_v >= 0`` per view (sum > 0); default equal (eq. 8).
        spacing: voxel size ``(D, H, W)`` in mm (``(H, W)`` also accepted for 2D).
        intensity_norm: ``"none"`` (image as given, as the original code, which
            feeds the z-scored network input), ``"minmax"`` (per item and channel
            to [0, 1]) or ``"zscore"`` (per item and channel).
        cpu_threads: if > 0 and ``probs`` is on the CPU, torch's intra-op thread
            count is set to this for the call and restored after. The loss runs
            ~12 element-wise ops per window offset; on an oversubscribed CPU each
            multi-threaded op can wait for descheduled OpenMP threads, and
            ``cpu_threads = 1`` avoids that. 0 keeps torch's setting.

    Returns:
        a scalar tensor.

    Config keys (wrapper): see :class:`MultiViewCRFLoss`.

    Note:
        Follows the original code (HiLab-git/PA-Seg ``gated_crf_loss3d.py``) except
        where stated:

        * ``i = j`` is excluded (``K_ii = 0``), like the original.
        * Sum over all ``C`` classes (the original's Potts shortcut
          ``sum K - sum_c p_c K p_c``). For ``C = 2`` this is exactly 2x eq. 7 with
          ``p`` the foreground probability.
        * Normalised by the pixels per slice (``1/|Omega^(s)|``) on top of eq. 8's
          slice average, as the original (which divides by ``N D H W``); eq. 7
          itself is an unnormalised sum.
        * Window: pairs with ``|r_i - r_j|_a <= rho_a`` per in-plane axis, only
          inside the volume. The original zero-pads its unfold, which adds a
          constant (gradient-free) term from padded neighbours; we do not.
        * Full resolution. The original downsamples prediction and image to
          64 x 64 x 48 (in-plane voxels 2x larger), so its sigma_s = 6 and radius 5
          span 12 and 10 full-resolution in-plane voxels.
        * The intensity factor ``exp(-|x_i - x_j|^2 / 2 sigma_x^2)`` is floored at
          ``exp(-20) = 2.1e-9`` (``|x_i - x_j| > 6.3 sigma_x``): exp() of very negative
          arguments and float32 subnormals are 5-50x slower on CPU. The change in
          the loss is below ``2.1e-9`` times the weight of the pairs concerned.
        * Gradient: computed in the forward pass as ``dE/dp_kc = A_k - 2 B_kc``
          (``A``: kernel row sums, ``B = K p``), no double backward. If the class
          probabilities sum to 1 at every voxel (within 64 machine epsilons, e.g.
          softmax), ``B_0`` is derived as ``A - sum_{c>0} B_c`` instead of filtered.
    """
    check_tensor("probs", probs)
    check_image("image", image, probs)
    spatial = probs.dim() - 2
    sigmas = axis_sigmas(spatial_sigma, spatial)
    check_positive("intensity_sigma", intensity_sigma)
    if isinstance(cpu_threads, bool) or not isinstance(cpu_threads, int) or cpu_threads < 0:
        raise ValueError(f"cpu_threads: expected an integer >= 0. Got: {cpu_threads!r}")
    intensity_norm = look_up_option(intensity_norm, INTENSITY_NORMS, where="intensity_norm")
    spacing3 = per_axis("spacing", spacing, spatial, float) if spacing is not None else None
    if spacing3 is not None and min(spacing3[3 - spatial:]) <= 0:
        raise ValueError(f"spacing: expected positive voxel sizes. Got: {list(spacing)}")
    radii = window_radii(radius, spatial, spacing3)
    if spatial == 2:
        probs, image = probs.unsqueeze(2), image.unsqueeze(2)
        views, weights = ("axial",), [1.0]
    else:
        views, weights = views_and_weights(views, view_weights)
    step = spacing3 if spacing3 is not None else [1.0, 1.0, 1.0]
    offsets, coeffs = offset_table(radii, views, weights,
                                   [s / g for s, g in zip(step, sigmas)], 1.0)
    feats = normalise(image.to(probs.dtype), intensity_norm)
    feats = (feats / (math.sqrt(2.0) * intensity_sigma)).contiguous()
    scale = 1.0 / probs[:, :1].numel()
    previous = torch.get_num_threads()
    switch = cpu_threads > 0 and probs.device.type == "cpu" and cpu_threads != previous
    if switch:
        torch.set_num_threads(cpu_threads)
    try:
        return WindowPottsEnergy.apply(probs.contiguous(), feats, offsets, coeffs, scale,
                                       sums_to_one(probs))
    finally:
        if switch:
            torch.set_num_threads(previous)


class MultiViewCRFLoss(nn.Module):
    """PyMIC wrapper of :func:`multiview_crf_loss` (registered as ``MultiViewCRFLoss``).

    Config (``[training]`` section; defaults in brackets):
        * ``MultiViewCRFLoss_radius`` [5]: int >= 1, or ``[rD, rH, rW]`` ints >= 0.
        * ``MultiViewCRFLoss_radius_mm`` [none]: window half-extent in mm, a number or
          ``[rD, rH, rW]`` (> 0); per axis ``floor(r_a / spacing_a)`` voxels. Needs
          ``sigma_in_mm``; replaces ``radius`` (setting both is an error).
        * ``MultiViewCRFLoss_spatial_sigma`` [6]: > 0, or ``[sD, sH, sW]``; voxels (mm
          with ``sigma_in_mm``).
        * ``MultiViewCRFLoss_intensity_sigma`` [0.1]: > 0.
        * ``MultiViewCRFLoss_views`` [axial, sagittal, coronal]: non-empty subset.
        * ``MultiViewCRFLoss_view_weights`` [equal]: one number >= 0 per view.
        * ``MultiViewCRFLoss_sigma_in_mm`` [False]: spatial sigma (and the window
          extent, see ``radius``) in millimetres; needs ``spacing``.
        * ``MultiViewCRFLoss_spacing`` [none]: ``[sD, sH, sW]`` mm (z, y, x), > 0, or
          ``image``: each batch item's voxel size from its image header (PyMIC's
          samples carry it; the PA-Seg agents pass it to the loss). PyMIC's
          ``Rescale`` transform does not update it: use a fixed spacing then.
        * ``MultiViewCRFLoss_downsample`` [none]: ``[D, H, W]``: the original code's
          trilinear downsample of logits and image to this grid (e.g. ``[48, 64, 64]``
          for VS patches of 48 x 128 x 128); radius and sigma then count voxels of the
          coarse grid, or mm with ``sigma_in_mm`` (spacing scaled to the coarse grid).
        * ``MultiViewCRFLoss_intensity_norm`` [none]: none, minmax or zscore.
        * ``MultiViewCRFLoss_cpu_threads`` [0]: int >= 0, torch threads during the
          loss on CPU (0: unchanged; 1 helps on an oversubscribed CPU).
        * ``loss_acti_func`` (PyMIC's key): softmax (default), sigmoid or None.

    Reads ``prediction`` (``[0]`` of a list), ``image`` and, with ``spacing = image``,
    ``spacing`` from ``loss_input_dict``. PyMIC's fully supervised agent passes no image:
    use the PA-Seg stage-1 method, otherwise
    :class:`~pymic_paseg.losses._checks.MissingImageError` is raised.
    """

    PREFIX = "MultiViewCRFLoss_"
    KEYS = tuple("MultiViewCRFLoss_" + k for k in (
        "radius", "radius_mm", "spatial_sigma", "intensity_sigma", "views", "view_weights",
        "sigma_in_mm", "spacing", "downsample", "intensity_norm", "cpu_threads"))

    def __init__(self, params: Optional[Mapping[str, Any]] = None):
        super().__init__()
        cfg = Section("training", params)
        cfg.check_known_keys(self.PREFIX, self.KEYS)
        key = (lambda name: self.PREFIX + name)  # noqa: E731
        self.acti = read_activation(cfg)
        if isinstance(cfg.raw(key("radius"), 5), (list, tuple)):
            self.radius: Union[int, List[int]] = cfg.int_list(key("radius"), length=3, low=0)
            if max(self.radius) < 1:
                raise cfg.fail(key("radius"), self.radius, "at least one radius must be >= 1")
        else:
            self.radius = cfg.int(key("radius"), 5, low=1)
        self.spatial_sigma = cfg.float_or_list(key("spatial_sigma"), 6.0, length=3, low=0,
                                               low_open=True)
        self.intensity_sigma = cfg.float(key("intensity_sigma"), 0.1, low=0, low_open=True)
        self.views = [look_up_option(v, VIEWS, where=f"[training] {key('views')}")
                      for v in cfg.str_list(key("views"), list(VIEWS))]
        if not self.views or len(set(self.views)) != len(self.views):
            raise cfg.fail(key("views"), self.views, "must list each view at most once, "
                           f"at least one of {', '.join(VIEWS)}")
        self.view_weights = cfg.float_list(key("view_weights"), [1.0] * len(self.views),
                                           length=len(self.views), low=0)
        if sum(self.view_weights) <= 0:
            raise cfg.fail(key("view_weights"), self.view_weights, "must have a positive sum")
        self._read_scale(cfg, key)
        self.intensity_norm = cfg.choice(key("intensity_norm"), INTENSITY_NORMS, "none")
        self.cpu_threads = cfg.int(key("cpu_threads"), 0, low=0)

    def _read_scale(self, cfg: Section, key) -> None:
        """``sigma_in_mm``, ``spacing``, ``radius_mm`` and ``downsample``."""
        in_mm = cfg.bool(key("sigma_in_mm"), False)
        self.spacing_from_image = str(cfg.raw(key("spacing"), "")).strip().lower() == "image"
        self.spacing = None if self.spacing_from_image else cfg.float_list(
            key("spacing"), None, length=3, low=0, low_open=True)
        has_spacing = self.spacing_from_image or self.spacing is not None
        if in_mm and not has_spacing:
            raise ConfigError(f"[training] {key('sigma_in_mm')} = True needs "
                              f"{key('spacing')} = [sD, sH, sW] (mm) or image")
        if not in_mm and has_spacing:
            raise cfg.fail(key("spacing"), self.spacing or cfg.raw(key("spacing")),
                           f"only used with {key('sigma_in_mm')} = True")
        self.radius_mm: Optional[List[float]] = None
        if cfg.has(key("radius_mm")):
            raw = cfg.raw(key("radius_mm"))
            radius_mm = cfg.float_or_list(key("radius_mm"), length=3, low=0, low_open=True)
            self.radius_mm = radius_mm if isinstance(radius_mm, list) else [radius_mm] * 3
            if not in_mm:
                raise cfg.fail(key("radius_mm"), raw, f"needs {key('sigma_in_mm')} = True")
            if cfg.has(key("radius")):
                raise cfg.fail(key("radius_mm"), raw, f"replaces {key('radius')}: set one")
        self.downsample = cfg.int_list(key("downsample"), None, length=3, low=1)

    def forward(self, loss_input_dict: Mapping[str, Any]) -> torch.Tensor:
        pred = get_prediction(loss_input_dict, "MultiViewCRFLoss")
        image = get_image(loss_input_dict, "MultiViewCRFLoss")
        if self.spacing_from_image:
            spacings = crf_scale.spacing_from_batch(loss_input_dict.get("spacing"),
                                                    pred.shape[0])
            if len(set(spacings)) > 1:   # one call per item; each averages over its voxels
                return sum(self._loss(pred[i:i + 1], image[i:i + 1], list(spacings[i]))
                           for i in range(len(spacings))) / len(spacings)
            return self._loss(pred, image, list(spacings[0]))
        return self._loss(pred, image, self.spacing)

    def _loss(self, pred: torch.Tensor, image: torch.Tensor,
              spacing: Optional[List[float]]) -> torch.Tensor:
        if self.downsample is not None:
            pred, image, spacing = crf_scale.downsample(pred, image, self.downsample, spacing)
        radius = self.radius
        if self.radius_mm is not None and spacing is not None:
            radius = crf_scale.radii_from_mm(self.radius_mm, spacing)
        return multiview_crf_loss(
            activate(pred, self.acti), image, radius=radius,
            spatial_sigma=self.spatial_sigma, intensity_sigma=self.intensity_sigma,
            views=self.views, view_weights=self.view_weights, spacing=spacing,
            intensity_norm=self.intensity_norm, cpu_threads=self.cpu_threads)
