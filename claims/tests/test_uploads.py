"""Proof-of-execution files are judged by their content (claims/uploads.py)."""

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from claims import uploads
from claims.tests.factories import PDF_BYTES

TEMPLATE = Path(uploads.__file__).resolve().parent / "resources" / "poe-template.en.docx"


def png_bytes() -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"")
    )


JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 50 + b"\x80\x00\x00\x00" + b"\x00" * 64 + b"PE\x00\x00"


def xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override '
            'PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/></Types>',
        )
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("sow.pdf", PDF_BYTES, "application/pdf"),
        ("SOW.PDF", PDF_BYTES, "application/pdf"),
        ("sow.docx", TEMPLATE.read_bytes(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("plan.xlsx", xlsx_bytes(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("scan.png", png_bytes(), "image/png"),
        ("scan.jpg", JPEG_BYTES, "image/jpeg"),
        ("scan.jpeg", JPEG_BYTES, "image/jpeg"),
    ],
)
def test_accepted_kinds_are_recognised_by_their_content(name, content, expected):
    assert uploads.check_poe(SimpleUploadedFile(name, content, content_type="application/octet-stream")) == expected


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("statement.pdf", EXECUTABLE),
        ("statement.exe", EXECUTABLE),
        ("statement.pdf", b"<html><script>alert(1)</script></html>"),
        ("statement.docx", zip_bytes()),
        ("statement.pdf", b"just some text, not a PDF"),
    ],
)
def test_anything_else_is_refused_whatever_its_name_or_declared_type(name, content):
    upload = SimpleUploadedFile(name, content, content_type="application/pdf")
    with pytest.raises(uploads.UploadRejected, match="isn't an accepted kind of file"):
        uploads.check_poe(upload)


def test_a_file_whose_name_lies_about_its_content_is_refused():
    with pytest.raises(uploads.UploadRejected, match="doesn't match its name: it is a .pdf file"):
        uploads.check_poe(SimpleUploadedFile("statement.docx", PDF_BYTES))


def test_an_oversize_file_is_refused_before_it_is_read(settings):
    settings.POE_MAX_BYTES = 1024
    with pytest.raises(uploads.UploadRejected, match="too large"):
        uploads.check_poe(SimpleUploadedFile("big.pdf", PDF_BYTES + b"0" * 2048))


def test_an_empty_file_is_refused():
    with pytest.raises(uploads.UploadRejected, match="is empty"):
        uploads.check_poe(SimpleUploadedFile("empty.pdf", b""))


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\me\\SoW signed.pdf", "SoW signed.pdf"),
        ("bad\x00name\r\n.pdf", "badname.pdf"),
        ("", "file"),
        ("a" * 400 + ".pdf", "a" * 251 + ".pdf"),
    ],
)
def test_the_original_name_is_kept_without_path_or_control_characters(given, kept):
    assert uploads.safe_original_name(given) == kept


def test_the_shipped_templates_are_word_documents_with_the_fields_to_fill():
    for language, words in (("en", ["Customer", "MPN ID", "signature"]), ("fr", ["Client", "ID MPN", "signature"])):
        path = TEMPLATE.with_name(f"poe-template.{language}.docx")
        with zipfile.ZipFile(path) as archive:
            document = archive.read("word/document.xml").decode()
        for word in words:
            assert word in document
        assert uploads.check_poe(SimpleUploadedFile(path.name, path.read_bytes()))
