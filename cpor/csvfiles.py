"""CSV files the site writes: one rule for cells a spreadsheet would run, one streaming writer."""

import csv


class _Echo:
    """A file that hands back what is written to it, so that a CSV line can be streamed."""

    def write(self, value):
        return value


def csv_line_writer():
    """A csv.writer whose writerow() returns the line instead of writing it (for StreamingHttpResponse)."""
    return csv.writer(_Echo())


def safe_cell(value) -> str:
    """A cell as text that a spreadsheet shows and never runs: a leading =, +, -, @, tab or
    carriage return would make it a formula, so such a cell starts with an apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
