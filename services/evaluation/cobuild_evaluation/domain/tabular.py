"""Tables for export: the kit's CSV and XLSX writers (formula injection neutralised)."""

from cobuild_kit.sheets import safe_cell, to_csv, to_xlsx

__all__ = ["safe_cell", "to_csv", "to_xlsx"]
