"""``pymic_run reproduce``: the paper's Tables I-III rerun on the demo data."""
from pymic_paseg.reproduce.rows import PRESETS, ROWS, Row, rows_for
from pymic_paseg.reproduce.runner import Reproduction, parse_tables

__all__ = ["PRESETS", "ROWS", "Row", "rows_for", "Reproduction", "parse_tables"]
