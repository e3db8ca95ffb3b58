"""Multi-view CRF loss (eq. 6-8) against a brute-force O(V^2) pairwise sum."""
import itertools

import pytest
import torch

from pymic_paseg.config import ConfigError
from pymic_paseg.losses import MissingImageError, MultiViewCRFLoss, multiview_crf_loss

AXES = {"axial": (1, 2), "sagittal": (0, 1), "coronal": (0, 2)}


def brute_force(probs, image, radii, sigma_s, sigma_x, views, weights, spacing=(1, 1, 1)):
    """Full kernel matrix over all voxel pairs; keeps pairs in one slice of the view."""
    n, c, d, h, w = probs.shape
    grid = torch.tensor(list(itertools.product(range(d), range(h), range(w))),
                        dtype=probs.dtype)                                    # V x 3
    delta = grid[:, None, :] - grid[None, :, :]                              # V x V x 3
    dist2 = ((delta * torch.tensor(spacing, dtype=probs.dtype)) ** 2).sum(-1)
    total = 0.0
    for view, weight in zip(views, weights):
        a, b = AXES[view]
        normal = 3 - a - b
        pair = (delta[..., normal] == 0) & (delta[..., a].abs() <= radii[a]) \
            & (delta[..., b].abs() <= radii[b])
        pair &= ~torch.eye(len(grid), dtype=torch.bool)                      # i != j
        energy = 0.0
        for item in range(n):
            p = probs[item].reshape(c, -1).T                                  # V x C
            x = image[item].reshape(image.shape[1], -1).T
            xdist2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
            kern = torch.exp(-dist2 / (2 * sigma_s ** 2) - xdist2 / (2 * sigma_x ** 2)) * pair
            potts = (p[:, None, :] * (1 - p[None, :, :])).sum(-1)           # sum_c p_i (1-p_j)
            energy = energy + (kern * potts).sum()
        total = total + weight * energy / (n * d * h * w)
    return total / sum(weights)


def _data(shape=(2, 2, 5, 6, 7), cin=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    probs = torch.softmax(torch.randn(shape, generator=g, dtype=torch.float64), 1)
    image = torch.rand((shape[0], cin) + shape[2:], generator=g, dtype=torch.float64)
    return probs, image


@pytest.mark.parametrize("views", [("axial",), ("sagittal",), ("coronal",),
                                   ("axial", "sagittal", "coronal")])
@pytest.mark.parametrize("radius", [7, 2])
def test_matches_brute_force_per_view(views, radius):
    probs, image = _data()
    got = multiview_crf_loss(probs, image, radius=radius, spatial_sigma=3.0,
                             intensity_sigma=0.5, views=views)
    want = brute_force(probs, image, [radius] * 3, 3.0, 0.5, views, [1.0] * len(views))
    assert got.item() == pytest.approx(want.item(), rel=1e-10)


def test_matches_brute_force_anisotropic_spacing_and_weights():
    probs, image = _data(shape=(1, 3, 5, 6, 7), cin=2, seed=1)
    spacing = (1.5, 0.5, 0.5)
    # radius 3 voxels on the finest axis: 1.5 mm, i.e. 1 voxel along D
    got = multiview_crf_loss(probs, image, radius=3, spatial_sigma=1.2, intensity_sigma=0.6,
                             views=("axial", "sagittal", "coronal"),
                             view_weights=(2.0, 1.0, 0.5), spacing=spacing)
    want = brute_force(probs, image, [1, 3, 3], 1.2, 0.6, ("axial", "sagittal", "coronal"),
                       [2.0, 1.0, 0.5], spacing)
    assert got.item() == pytest.approx(want.item(), rel=1e-10)
    explicit = multiview_crf_loss(probs, image, radius=[2, 1, 4], spatial_sigma=1.2,
                                  intensity_sigma=0.6, spacing=spacing)
    want = brute_force(probs, image, [2, 1, 4], 1.2, 0.6, ("axial", "sagittal", "coronal"),
                       [1.0] * 3, spacing)
    assert explicit.item() == pytest.approx(want.item(), rel=1e-10)


def test_unnormalised_probabilities_take_the_general_path():
    probs, image = _data(shape=(2, 3, 4, 5, 6), seed=8)
    sig = torch.sigmoid(torch.randn_like(probs))          # classes do not sum to 1
    for p in (sig, probs):
        got = multiview_crf_loss(p, image, radius=3, spatial_sigma=2.0, intensity_sigma=0.5)
        want = brute_force(p, image, [3, 3, 3], 2.0, 0.5, ("axial", "sagittal", "coronal"),
                           [1.0] * 3)
        assert got.item() == pytest.approx(want.item(), rel=1e-10)


def test_2d_input_is_one_axial_slice():
    probs, image = _data(shape=(2, 2, 1, 6, 7), seed=2)
    got = multiview_crf_loss(probs[:, :, 0], image[:, :, 0], radius=9, spatial_sigma=2.0,
                             intensity_sigma=0.4)
    want = brute_force(probs, image, [0, 9, 9], 2.0, 0.4, ("axial",), [1.0])
    assert got.item() == pytest.approx(want.item(), rel=1e-10)


def test_two_classes_is_twice_eq7_with_foreground_probability():
    probs, image = _data(shape=(1, 2, 1, 5, 6), seed=3)
    p = probs[0, 1].reshape(-1)
    x = image[0, 0].reshape(-1)
    r = torch.tensor(list(itertools.product(range(5), range(6))), dtype=torch.float64)
    kern = torch.exp(-((r[:, None] - r[None]) ** 2).sum(-1) / 8 - (x[:, None] - x[None]) ** 2 / 0.5)
    kern.fill_diagonal_(0)
    eq7 = (p[:, None] * (1 - p[None, :]) * kern).sum() / 30
    got = multiview_crf_loss(probs[:, :, 0], image[:, :, 0], radius=6, spatial_sigma=2.0,
                             intensity_sigma=0.5)
    assert got.item() == pytest.approx(2 * eq7.item(), rel=1e-10)


def test_constant_one_hot_prediction_gives_zero():
    probs = torch.zeros(1, 3, 4, 5, 6)
    probs[:, 2] = 1
    assert multiview_crf_loss(probs, torch.rand(1, 1, 4, 5, 6)).item() == 0.0


def test_intensity_normalisation_modes():
    probs, image = _data(seed=4)
    for mode in ("minmax", "zscore"):
        a = multiview_crf_loss(probs, image, intensity_norm=mode, radius=2)
        b = multiview_crf_loss(probs, 3 * image + 5, intensity_norm=mode, radius=2)
        assert a.item() == pytest.approx(b.item(), rel=1e-9)


def test_gradcheck_and_memory_kept_for_backward():
    probs, image = _data(shape=(1, 3, 3, 4, 5), cin=2, seed=5)
    probs.requires_grad_(True)
    fn = lambda p: multiview_crf_loss(p, image, radius=2, spatial_sigma=2.0,  # noqa: E731
                                      intensity_sigma=0.7)
    assert torch.autograd.gradcheck(fn, (probs,))
    logits = torch.randn(1, 2, 3, 4, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda z: multiview_crf_loss(torch.softmax(z, 1), image[..., :2], radius=3), (logits,))
    saved = fn(probs).grad_fn.saved_tensors             # one C-channel gradient map only
    assert sum(t.numel() for t in saved) == probs.numel()


def test_float32_matches_float64_with_z_scored_image():
    probs, image = _data(shape=(1, 2, 6, 9, 8), seed=6)
    image = (image - image.mean()) / image.std()
    a = multiview_crf_loss(probs.float(), image.float())
    b = multiview_crf_loss(probs, image)
    assert a.item() == pytest.approx(b.item(), rel=1e-5)


def test_cpu_threads_gives_the_same_value_and_restores_the_setting():
    probs, image = _data(seed=9)
    before = torch.get_num_threads()
    a = multiview_crf_loss(probs, image, radius=2)
    b = multiview_crf_loss(probs, image, radius=2, cpu_threads=before + 1)
    assert a.item() == pytest.approx(b.item(), rel=1e-12)
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="cpu_threads: expected an integer >= 0. Got: -1"):
        multiview_crf_loss(probs, image, cpu_threads=-1)


def test_function_errors():
    probs, image = _data()
    with pytest.raises(ValueError, match=r"probs: expected a 4D or 5D tensor.*"
                                         r"Got: tensor of shape \(2, 6, 7\)"):
        multiview_crf_loss(probs[:, 0, 0], image)
    with pytest.raises(ValueError, match=r"image: expected shape \(2, 'Cin', 5, 6, 7\).*"
                                         r"Got: \(2, 1, 5, 6, 6\)"):
        multiview_crf_loss(probs, image[..., :6])
    with pytest.raises(ValueError, match="radius: expected an integer >= 1. Got: 0"):
        multiview_crf_loss(probs, image, radius=0)
    with pytest.raises(ValueError, match="spatial_sigma: expected a finite number > 0. Got: 0"):
        multiview_crf_loss(probs, image, spatial_sigma=0)
    with pytest.raises(ValueError, match="intensity_sigma: expected a finite number > 0"):
        multiview_crf_loss(probs, image, intensity_sigma=-1.0)
    with pytest.raises(ValueError, match="views = 'saggital': unknown name. "
                                         "Did you mean 'sagittal'"):
        multiview_crf_loss(probs, image, views=("axial", "saggital"))
    with pytest.raises(ValueError, match="view_weights: expected 2 numbers"):
        multiview_crf_loss(probs, image, views=("axial", "coronal"), view_weights=(1.0,))
    with pytest.raises(ValueError, match=r"spacing: expected 3 entries \(D, H, W\)"):
        multiview_crf_loss(probs, image, spacing=(1.0, 1.0))


def test_wrapper_reads_config_and_matches_function():
    probs, image = _data(seed=7)
    logits = probs.log()
    params = {"loss_type": ["MultiViewCRFLoss"], "multiviewcrfloss_radius": [1, 3, 3],
              "multiviewcrfloss_spatial_sigma": "1.5e0", "multiviewcrfloss_intensity_sigma": 0.3,
              "multiviewcrfloss_views": ["axial", "coronal"],
              "multiviewcrfloss_view_weights": [1, 0.5], "multiviewcrfloss_sigma_in_mm": True,
              "multiviewcrfloss_spacing": [1.5, 0.5, 0.5]}
    got = MultiViewCRFLoss(params)({"prediction": [logits], "image": image})
    want = multiview_crf_loss(probs, image, radius=[1, 3, 3], spatial_sigma=1.5,
                              intensity_sigma=0.3, views=("axial", "coronal"),
                              view_weights=(1, 0.5), spacing=(1.5, 0.5, 0.5))
    assert got.item() == pytest.approx(want.item(), rel=1e-10)


@pytest.mark.parametrize("key, value, message", [
    ("radius", -1, r"\[training\] MultiViewCRFLoss_radius = -1: must be an integer >= 1"),
    ("radius", 0, r"MultiViewCRFLoss_radius = 0: must be an integer >= 1"),
    ("spatial_sigma", 0, r"MultiViewCRFLoss_spatial_sigma = 0: must be a number > 0"),
    ("intensity_sigma", "-1e-1", r"MultiViewCRFLoss_intensity_sigma = -1e-1: must be a number > 0"),
    ("views", ["axial", "axail"],
     r"MultiViewCRFLoss_views = 'axail': unknown name. Did you mean 'axial'"),
    ("views", ["axial", "axial"],
     r"MultiViewCRFLoss_views = \['axial', 'axial'\]: must list each view"),
    ("view_weights", [1, 2],
     r"MultiViewCRFLoss_view_weights = \[1, 2\]: must be a list of 3 numbers"),
    ("intensity_norm", "minmx", r"Did you mean 'minmax'"),
    ("sigma_in_mm", True, r"sigma_in_mm = True needs MultiViewCRFLoss_spacing"),
    ("spacing", [1, 1, 2], r"MultiViewCRFLoss_spacing = \[1.0, 1.0, 2.0\]: only used with"),
    ("cpu_threads", 1.5, r"MultiViewCRFLoss_cpu_threads = 1.5: must be an integer >= 0"),
    ("radus", 5, r"multiviewcrfloss_radus: unknown key. Did you mean 'multiviewcrfloss_radius'"),
])
def test_wrapper_config_errors(key, value, message):
    with pytest.raises(ConfigError, match=message):
        MultiViewCRFLoss({f"multiviewcrfloss_{key}": value})


def test_wrapper_without_image_explains_stage1():
    with pytest.raises(MissingImageError, match=r"method_name = PASegStage1"):
        MultiViewCRFLoss({})({"prediction": torch.zeros(1, 2, 3, 4, 5)})
    assert issubclass(MissingImageError, ValueError)


# --- physical scale: per-axis sigma, window in mm, spacing from the batch, downsample ---

def brute_force_axes(probs, image, radii, sigmas, sigma_x, views, spacing):
    """brute_force with one spatial sigma per axis: positions scaled by spacing / sigma_a."""
    scaled = [s / g for s, g in zip(spacing, sigmas)]
    return brute_force(probs, image, radii, 1.0, sigma_x, views, [1.0] * len(views), scaled)


def test_per_axis_sigma_matches_brute_force():
    probs, image = _data(shape=(1, 2, 5, 6, 7), seed=11)
    views = ("axial", "sagittal", "coronal")
    got = multiview_crf_loss(probs, image, radius=[2, 3, 3], spatial_sigma=[9.0, 6.0, 6.0],
                             intensity_sigma=0.5, spacing=(1.5, 0.5, 0.5))
    want = brute_force_axes(probs, image, [2, 3, 3], [9.0, 6.0, 6.0], 0.5, views,
                            (1.5, 0.5, 0.5))
    assert got.item() == pytest.approx(want.item(), rel=1e-10)
    # a per-axis sigma really differs from the scalar one (the test can fail)
    scalar = multiview_crf_loss(probs, image, radius=[2, 3, 3], spatial_sigma=6.0,
                                intensity_sigma=0.5, spacing=(1.5, 0.5, 0.5))
    assert abs(scalar.item() - got.item()) > 1e-4 * abs(got.item())
    iso = multiview_crf_loss(probs, image, radius=2, spatial_sigma=[2.0, 2.0, 2.0])
    assert iso.item() == pytest.approx(
        multiview_crf_loss(probs, image, radius=2, spatial_sigma=2.0).item(), rel=1e-12)
    with pytest.raises(ValueError, match="spatial_sigma: expected a finite number > 0"):
        multiview_crf_loss(probs, image, spatial_sigma=[1.0, 0.0, 1.0])


def test_radius_mm_and_spacing_from_image_match_brute_force():
    probs, image = _data(shape=(2, 2, 5, 6, 7), seed=12)
    logits = probs.log()
    params = {"multiviewcrfloss_sigma_in_mm": True, "multiviewcrfloss_spacing": "image",
              "multiviewcrfloss_radius_mm": [3.0, 1.5, 1.0],
              "multiviewcrfloss_spatial_sigma": [3.0, 2.0, 2.0],
              "multiviewcrfloss_intensity_sigma": 0.4}
    loss = MultiViewCRFLoss(params)
    views = ("axial", "sagittal", "coronal")
    # PyMIC's collate of (sz, sy, sx): three tensors of length N; same spacing for both
    same = [torch.tensor([1.5, 1.5]), torch.tensor([0.5, 0.5]), torch.tensor([0.5, 0.5])]
    got = loss({"prediction": logits, "image": image, "spacing": same})
    want = brute_force_axes(probs, image, [2, 3, 2], [3.0, 2.0, 2.0], 0.4, views,
                            (1.5, 0.5, 0.5))   # 3/1.5 = 2, 1.5/0.5 = 3, floor(1/0.5) = 2
    assert got.item() == pytest.approx(want.item(), rel=1e-10)
    # items with different voxel sizes: each its own window, the batch mean
    mixed = [torch.tensor([1.5, 1.0]), torch.tensor([0.5, 1.0]), torch.tensor([0.5, 0.5])]
    got = loss({"prediction": logits, "image": image, "spacing": mixed})
    parts = [brute_force_axes(probs[:1], image[:1], [2, 3, 2], [3.0, 2.0, 2.0], 0.4, views,
                              (1.5, 0.5, 0.5)),
             brute_force_axes(probs[1:], image[1:], [3, 1, 2], [3.0, 2.0, 2.0], 0.4, views,
                              (1.0, 1.0, 0.5))]
    assert got.item() == pytest.approx((parts[0] + parts[1]).item() / 2, rel=1e-10)
    with pytest.raises(ValueError, match="the batch carries no 'spacing'"):
        loss({"prediction": logits, "image": image})


def test_downsample_is_the_loss_of_the_trilinear_resized_inputs():
    probs, image = _data(shape=(1, 2, 6, 8, 10), seed=13)
    logits = probs.log()
    params = {"multiviewcrfloss_downsample": [6, 4, 5], "multiviewcrfloss_radius": 2,
              "multiviewcrfloss_spatial_sigma": 1.5, "multiviewcrfloss_intensity_sigma": 0.5}
    got = MultiViewCRFLoss(params)({"prediction": logits, "image": image})
    small = torch.nn.functional.interpolate(logits, size=(6, 4, 5), mode="trilinear")
    small_img = torch.nn.functional.interpolate(image, size=(6, 4, 5), mode="trilinear")
    views = ("axial", "sagittal", "coronal")
    want = brute_force(torch.softmax(small, 1), small_img, [2, 2, 2], 1.5, 0.5, views,
                       [1.0] * 3)
    assert got.item() == pytest.approx(want.item(), rel=1e-10)
    # in mm the spacing of the coarse grid is used: 1 mm -> 2 mm in H and W
    params.update({"multiviewcrfloss_sigma_in_mm": True, "multiviewcrfloss_spacing": [1, 1, 1],
                   "multiviewcrfloss_radius": None, "multiviewcrfloss_radius_mm": 4.0})
    got = MultiViewCRFLoss(params)({"prediction": logits, "image": image})
    want = brute_force(torch.softmax(small, 1), small_img, [4, 2, 2], 1.5, 0.5, views,
                       [1.0] * 3, (1.0, 2.0, 2.0))
    assert got.item() == pytest.approx(want.item(), rel=1e-10)


@pytest.mark.parametrize("params, message", [
    ({"radius_mm": 5}, r"MultiViewCRFLoss_radius_mm = 5: needs MultiViewCRFLoss_sigma_in_mm"),
    ({"radius_mm": 5, "radius": 5, "sigma_in_mm": True, "spacing": "image"},
     r"radius_mm = 5: replaces MultiViewCRFLoss_radius"),
    ({"radius_mm": [1, 2], "sigma_in_mm": True, "spacing": "image"},
     r"radius_mm = \[1, 2\]: must be a list of 3 numbers"),
    ({"spacing": "image"}, r"MultiViewCRFLoss_spacing = image: only used with"),
    ({"downsample": [0, 4, 4]}, r"MultiViewCRFLoss_downsample = \[0, 4, 4\]: must be"),
    ({"spatial_sigma": [1, 2]}, r"MultiViewCRFLoss_spatial_sigma = \[1, 2\]: must be a list"),
])
def test_scale_config_errors(params, message):
    with pytest.raises(ConfigError, match=message):
        MultiViewCRFLoss({f"multiviewcrfloss_{k}": v for k, v in params.items()})
