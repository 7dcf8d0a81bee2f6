"""What claims.presentation gives the pages: labels translated once a process per language."""

from django.utils import translation
from django.utils.translation import gettext_lazy

from claims.models import ClaimStatus
from claims.presentation import STATUS_LABELS, in_language, status_label

LABELS = {"history": gettext_lazy("History"), "status": gettext_lazy("Status")}


def test_a_table_of_labels_is_translated_in_each_readers_language():
    with translation.override("en"):
        english = in_language(LABELS)
    with translation.override("fr"):
        french = in_language(LABELS)
    with translation.override("en"):
        assert in_language(LABELS) is english  # translated once, not once a request

    assert english == {"history": "History", "status": "Status"}
    assert french == {"history": "Historique", "status": "État"}


def test_two_tables_never_share_their_translations():
    other = {"history": gettext_lazy("Comments")}
    with translation.override("en"):
        assert in_language(other) == {"history": "Comments"}
        assert in_language(LABELS)["history"] == "History"


def test_a_status_reads_as_its_label_and_an_unknown_one_as_its_code():
    with translation.override("fr"):
        assert status_label(ClaimStatus.UNDER_REVIEW) == "En cours d’examen"
        assert status_label("archived") == "archived"
    assert set(STATUS_LABELS) == set(ClaimStatus.values)
