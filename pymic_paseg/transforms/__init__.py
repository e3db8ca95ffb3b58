"""PyMIC transforms of pymic_paseg; see COMPONENTS for what gets registered."""
from pymic_paseg.transforms.oracle_label import OracleLabel
from pymic_paseg.transforms.seed_expansion import SeedExpansion
from pymic_paseg.transforms.valid_region import ValidRegionMask

COMPONENTS: list = [
    ("ValidRegionMask", "TransformDict", ValidRegionMask),
    ("SeedExpansion", "TransformDict", SeedExpansion),
    ("OracleLabel", "TransformDict", OracleLabel),
]
