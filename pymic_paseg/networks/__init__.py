"""Networks registered into PyMIC's ``SegNetDict``; see COMPONENTS."""
from pymic_paseg.networks.attention_unet import PASegAttentionUNet

COMPONENTS: list = [
    ("PASegAttentionUNet", "SegNetDict", PASegAttentionUNet),
]
