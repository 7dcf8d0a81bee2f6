"""CSV files the site writes: one rule for cells a spreadsheet would run, one streaming writer
and one way to hand the file to the browser."""

import csv

from django.http import StreamingHttpResponse


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


def csv_download(lines, filename: str) -> StreamingHttpResponse:
    """The CSV `lines` (from csv_line_writer), streamed to the browser as the file `filename`."""
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
