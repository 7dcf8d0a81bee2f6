"""Proof-of-execution files: what is accepted, judged by content, and how names are kept.

A file is what its bytes say it is (libmagic, through python-magic), not what its name or
the browser claim. Only PDF, DOCX, XLSX, PNG and JPEG are accepted, up to
`settings.POE_MAX_BYTES`, and the name must agree with the content so that whoever
downloads it opens what they expect. Files are stored under generated names
(`models.poe_upload_to`) outside the web root and are only served as attachments by a view
that checks access.
"""

import os
import unicodedata

import magic
from django.conf import settings
from django.core.files.storage import default_storage
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from .lifecycle import ClaimError

# Detected type -> the extensions a file of that type may carry.
ACCEPTED_TYPES: dict[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
}
ACCEPT_ATTRIBUTE = ",".join(ext for exts in ACCEPTED_TYPES.values() for ext in exts)

# Office files are zip archives; libmagic recognises them from the first entries, which a
# generous head of the file always holds.
SNIFF_BYTES = 256 * 1024


class UploadRejected(ClaimError):
    pass


def accepted_kinds() -> str:
    return _("PDF, Word (.docx), Excel (.xlsx), PNG or JPEG")


def sniff(upload) -> str:
    """The MIME type the file's content says, read from its first bytes."""
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    return magic.from_buffer(head, mime=True)


def check_poe(upload) -> str:
    """The content type of an acceptable PoE file; UploadRejected with a message naming the
    file otherwise."""
    name = safe_original_name(upload.name)
    if upload.size == 0:
        raise UploadRejected(_("%(name)s is empty.") % {"name": name})
    if upload.size > settings.POE_MAX_BYTES:
        raise UploadRejected(
            _("%(name)s is too large (%(size)s). Files can be at most %(limit)s.")
            % {"name": name, "size": filesizeformat(upload.size), "limit": filesizeformat(settings.POE_MAX_BYTES)}
        )
    content_type = sniff(upload)
    extensions = ACCEPTED_TYPES.get(content_type)
    if extensions is None:
        raise UploadRejected(
            _("%(name)s isn't an accepted kind of file. Attach a %(kinds)s file.")
            % {"name": name, "kinds": accepted_kinds()}
        )
    if os.path.splitext(name)[1].lower() not in extensions:
        raise UploadRejected(
            _("The content of %(name)s doesn't match its name: it is a %(ext)s file. Rename it and try again.")
            % {"name": name, "ext": extensions[0]}
        )
    return content_type


def safe_original_name(name: str) -> str:
    """The partner's file name, for display and for the download's filename only: no path,
    no control characters, bounded length."""
    name = os.path.basename((name or "").replace("\\", "/"))
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C").strip()
    if not name:
        name = "file"
    stem, ext = os.path.splitext(name)
    return stem[: 255 - len(ext[:16])] + ext[:16]


def delete_stored_files(names) -> None:
    for stored in names:
        if stored:
            default_storage.delete(stored)
