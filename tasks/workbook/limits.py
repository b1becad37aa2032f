"""How much of a workbook the reader will take: bounds a sender cannot move.

Every part of an .xlsx is read within these, by what the file really holds: a merged range or a
dimension names cells, but only the cells the sheet holds are ever read or filled, and a tab,
cell or text over a bound is refused with a WorkbookError naming the file and the tab (or, for a
single cell, rejects its row). The defaults are Excel's own limits where it has one, and far
beyond any real workbook elsewhere; `WorkbookSettings` holds them (INVOICES_WORKBOOK__...).
"""

from __future__ import annotations

from dataclasses import dataclass

from tasks.settings import WorkbookSettings, get_settings

_DEFAULTS = WorkbookSettings()
METADATA_PART_BYTES = 16 << 20  # workbook.xml and its relationships: a few KB to a few MB when real


@dataclass(frozen=True)
class Limits:
    max_uncompressed_bytes: int = _DEFAULTS.max_uncompressed_mb << 20
    max_ratio: float = float(_DEFAULTS.max_compression_ratio)  # a member larger than 1 MB may expand at most this
    header_scan_rows: int = 30  # the header row is looked for among the first rows with values
    max_rows: int = _DEFAULTS.max_rows
    max_columns: int = _DEFAULTS.max_columns
    max_cell_characters: int = _DEFAULTS.max_cell_characters
    max_merged_ranges: int = _DEFAULTS.max_merged_ranges
    max_merged_cells: int = _DEFAULTS.max_merged_cells
    max_shared_strings: int = _DEFAULTS.max_shared_strings
    max_shared_text: int = _DEFAULTS.max_shared_text_mb << 20  # characters

    @property
    def max_row_characters(self) -> int:
        """The XML of one row: room for a hundred and more cells of the longest text, escaped."""
        return max(128 * self.max_cell_characters, 64 * self.max_columns, 1 << 20)

    @property
    def max_text_run(self) -> int:
        """Bytes of XML without a '<' that one text can take (6 bytes for an escaped character)."""
        return 10 * self.max_cell_characters + 1024

    @classmethod
    def from_settings(cls, settings: WorkbookSettings | None = None) -> Limits:
        s = settings or get_settings().workbook
        return cls(max_uncompressed_bytes=s.max_uncompressed_mb << 20, max_ratio=float(s.max_compression_ratio),
                   max_rows=s.max_rows, max_columns=s.max_columns, max_cell_characters=s.max_cell_characters,
                   max_merged_ranges=s.max_merged_ranges, max_merged_cells=s.max_merged_cells,
                   max_shared_strings=s.max_shared_strings, max_shared_text=s.max_shared_text_mb << 20)


def limits_from_settings() -> Limits:
    """The limits of the configured settings."""
    return Limits.from_settings()
