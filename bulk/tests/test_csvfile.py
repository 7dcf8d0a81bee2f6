"""Reading the bulk CSV: what is refused as a whole file, and how cells are read."""

import pytest

from bulk import csvfile
from bulk.csvfile import COLUMN_NAMES, CsvRefused


def header(columns=COLUMN_NAMES, delimiter=","):
    return delimiter.join(columns) + "\n"


def test_the_template_is_the_header_row():
    assert "".join(csvfile.template_lines()).strip() == ",".join(COLUMN_NAMES)


def test_a_file_that_is_not_utf8_is_refused_with_what_to_do():
    with pytest.raises(CsvRefused, match="CSV UTF-8"):
        csvfile.read((header() + "é,\n").encode("latin-1"))


def test_a_byte_order_mark_and_semicolons_are_read():
    content = "\ufeff" + header(delimiter=";") + ";".join(["REF-1"] + [""] * (len(COLUMN_NAMES) - 1)) + "\n"
    parsed = csvfile.read(content.encode())
    assert parsed.delimiter == ";"
    assert parsed.rows[0].values["reference"] == "REF-1"
    assert parsed.rows[0].line == 2


def test_columns_are_matched_in_any_order_and_case():
    columns = ["Reference", "Claim Name", *COLUMN_NAMES[2:]]
    parsed = csvfile.read((",".join(reversed(columns)) + "\n" + ",".join(["x"] * len(columns)) + "\n").encode())
    assert set(parsed.rows[0].values) == set(COLUMN_NAMES)


def test_a_missing_required_column_is_named():
    columns = [name for name in COLUMN_NAMES if name != "tenant_id"]
    with pytest.raises(CsvRefused, match="Missing column.*tenant_id"):
        csvfile.read((header(columns) + "a\n").encode())


def test_an_unknown_column_is_named():
    with pytest.raises(CsvRefused, match="Unknown column.*tenantid"):
        csvfile.read((header([*COLUMN_NAMES, "tenantid"]) + "a\n").encode())


def test_the_error_column_of_an_error_file_is_ignored():
    parsed = csvfile.read((header([*COLUMN_NAMES, "error"]) + "REF\n").encode())
    assert "error" not in parsed.rows[0].values


def test_more_than_1000_rows_are_refused_clearly():
    content = header() + "REF\n" * 1001
    with pytest.raises(CsvRefused, match="more than 1000 rows"):
        csvfile.read(content.encode())


def test_exactly_1000_rows_are_accepted():
    assert len(csvfile.read((header() + "REF\n" * 1000).encode()).rows) == 1000


def test_an_empty_file_and_a_header_alone_are_refused():
    with pytest.raises(CsvRefused, match="empty"):
        csvfile.read(b"")
    with pytest.raises(CsvRefused, match="no claims"):
        csvfile.read(header().encode())


def test_blank_lines_are_skipped_and_lines_keep_their_numbers():
    parsed = csvfile.read((header() + "A\n\n,,\nB\n").encode())
    assert [(row.line, row.values["reference"]) for row in parsed.rows] == [(2, "A"), (5, "B")]


def test_cells_with_several_values_are_split_on_semicolons():
    assert csvfile.split_list("Exchange Online; Microsoft Teams ;") == ["Exchange Online", "Microsoft Teams"]
    assert csvfile.split_list("A|B", ";") == ["A", "B"]


def test_error_file_cells_never_start_a_formula():
    assert csvfile.safe_cell("=HYPERLINK()") == "'=HYPERLINK()"
