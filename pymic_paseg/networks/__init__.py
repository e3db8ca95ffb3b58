"""Networks registered into PyMIC's ``SegNetDict``; see COMPONENTS."""
from pymic_paseg.networks.attention_unet import PASegAttentionUNet
from pymic_paseg.networks.norm_variants import PASegUNet, PASegUNet2D5

COMPONENTS: list = [
    ("PASegAttentionUNet", "SegNetDict", PASegAttentionUNet),
    ("PASegUNet2D5", "SegNetDict", PASegUNet2D5),
    ("PASegUNet", "SegNetDict", PASegUNet),
]
