"""The bulk CSV: its columns, reading an upload, and writing the template and error files.

UTF-8 (a byte-order mark is fine), a header row naming the columns (in any order, any case;
spaces count as underscores), comma or semicolon separated, at most `settings.BULK_MAX_ROWS`
rows. Several products, workloads or subscription IDs in one cell are separated by ";"
(or "|" when the file itself is semicolon separated).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cpor.csvfiles import csv_line_writer, safe_cell


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    meaning: object


COLUMNS: tuple[Column, ...] = (
    Column("reference", True, gettext_lazy("Your own reference for the claim, unique in your organisation.")),
    Column("claim_name", True, gettext_lazy("The claim's name.")),
    Column("mpn_id", True, gettext_lazy("One of your MPN IDs, enrolled in the activity's programme.")),
    Column("domain", True, gettext_lazy("A verified domain of the customer, such as contoso.onmicrosoft.com.")),
    Column("tenant_id", True, gettext_lazy("The customer's Directory ID / Tenant ID (a GUID).")),
    Column("solution_area", True, gettext_lazy('"Business Applications" or "Microsoft 365".')),
    Column(
        "activity",
        True,
        gettext_lazy('"usage", "presales", "usage_presales" or "revenue" (Microsoft 365: "usage" only).'),
    ),
    Column(
        "products_or_workloads",
        False,
        gettext_lazy(
            "Business Applications: product names or codes; Microsoft 365: workload names. Several are separated "
            'by ";".'
        ),
    ),
    Column(
        "subscription_id",
        False,
        gettext_lazy(
            "The subscription ID(s) claimed, when the customer holds several subscriptions to a product (a "
            "subscription ID alone also names its product)."
        ),
    ),
    Column("customer_contact_name", True, gettext_lazy("Customer contact.")),
    Column("customer_contact_title", True, gettext_lazy("Customer contact.")),
    Column("customer_contact_email", True, gettext_lazy("Customer contact.")),
    Column("technical_contact_name", False, gettext_lazy("Technical contact, required for Business Applications.")),
    Column("technical_contact_title", False, gettext_lazy("Technical contact, required for Business Applications.")),
    Column("technical_contact_email", False, gettext_lazy("Technical contact, required for Business Applications.")),
    Column("partner_contact_name", True, gettext_lazy("Your company's contact.")),
    Column("partner_contact_email", True, gettext_lazy("Your company's contact.")),
    Column("solution_seller_name", False, gettext_lazy("Revenue association only: Dynamics solution seller name.")),
    Column("customer_name", False, gettext_lazy("Revenue association only: customer name.")),
    Column("isv_solution_name", False, gettext_lazy("Revenue association only: name of the ISV product/solution.")),
)
COLUMN_NAMES = tuple(column.name for column in COLUMNS)
REQUIRED_COLUMNS = tuple(column.name for column in COLUMNS if column.required)
ERROR_COLUMN = "error"


class CsvRefused(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CsvRow:
    line: int
    values: dict[str, str]


@dataclass(frozen=True)
class CsvFile:
    header: list[str]
    rows: list[CsvRow]
    delimiter: str


def _column_key(name: str) -> str:
    return "_".join((name or "").strip().lower().split())


def split_list(value: str, delimiter: str = ",") -> list[str]:
    separators = "|" if delimiter == ";" else ";|"
    parts = [value or ""]
    for separator in separators:
        parts = [piece for part in parts for piece in part.split(separator)]
    return [part.strip() for part in parts if part.strip()]


def read(content: bytes) -> CsvFile:
    """The rows of an uploaded file, or CsvRefused saying what to fix."""
    if len(content) > settings.BULK_MAX_BYTES:
        raise CsvRefused(
            _("The file is too large. A bulk file can be at most %(limit)s.")
            % {"limit": filesizeformat(settings.BULK_MAX_BYTES)}
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CsvRefused(_('The file isn\'t UTF-8 text. Save it as "CSV UTF-8" and upload it again.')) from error
    if "\x00" in text:
        raise CsvRefused(_('The file isn\'t a CSV file. Save it as "CSV UTF-8" and upload it again.'))
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            raise CsvRefused(_("The file is empty. Download the template and fill it in."))
        keys = [_column_key(cell) for cell in header]
        # The error column of a returned error file is ignored, so the fixed file goes back as is.
        keys = ["" if key == ERROR_COLUMN else key for key in keys]
        unknown = [cell for cell, key in zip(header, keys, strict=True) if key and key not in COLUMN_NAMES]
        if unknown:
            raise CsvRefused(
                _("Unknown column(s): %(columns)s. Use the template's columns.") % {"columns": ", ".join(unknown)}
            )
        missing = [name for name in REQUIRED_COLUMNS if name not in keys]
        if missing:
            raise CsvRefused(_("Missing column(s): %(columns)s.") % {"columns": ", ".join(missing)})
        repeated = sorted({key for key in keys if key and keys.count(key) > 1})
        if repeated:
            raise CsvRefused(_("Column(s) named twice: %(columns)s.") % {"columns": ", ".join(repeated)})
        rows = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # blank lines are not claims
            if len(rows) >= settings.BULK_MAX_ROWS:
                raise CsvRefused(
                    _("The file has more than %(max)d rows. Split it into files of at most %(max)d claims.")
                    % {"max": settings.BULK_MAX_ROWS}
                )
            values = {
                key: (cells[index].strip() if index < len(cells) else "") for index, key in enumerate(keys) if key
            }
            rows.append(CsvRow(line=reader.line_num, values=values))
    except csv.Error as error:
        raise CsvRefused(
            _("The file can't be read as CSV (line %(line)d): %(error)s") % {"line": reader.line_num, "error": error}
        ) from error
    if not rows:
        raise CsvRefused(_("The file has a header but no claims."))
    return CsvFile(header=keys, rows=rows, delimiter=delimiter)


def template_lines():
    yield csv_line_writer().writerow(COLUMN_NAMES)


def error_lines(header: list[str], rows):
    """The bad rows as uploaded, with an `error` column: fix them and upload the file again."""
    writer = csv_line_writer()
    columns = [name for name in header if name] or list(COLUMN_NAMES)
    yield "\ufeff" + writer.writerow([*columns, ERROR_COLUMN])
    for row in rows:
        yield writer.writerow([*(safe_cell(row.values.get(name, "")) for name in columns), " ".join(row.messages)])
