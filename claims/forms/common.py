"""What the claims forms share: the buttons and helpers, the MPN ID choice, the domain pattern."""

import re

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML
from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from cpor.models import MpnId

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62}$")


def back_button():
    return HTML(
        format_html(
            '<a class="btn btn-outline-secondary me-2" href="{}" data-testid="back">{}</a>', "{{ back_url }}", _("Back")
        )
    )


def server_validated_helper() -> FormHelper:
    """Forms are checked by the server, whose messages are in the user's language (the
    browser's own would be in the browser's)."""
    helper = FormHelper()
    helper.attrs = {"novalidate": ""}
    return helper


def mpn_label(mpn: MpnId) -> str:
    """An MPN ID with the programmes it is enrolled in (never its partner type)."""
    programmes = ", ".join(mpn.programs) if mpn.programs else str(_("not enrolled in any incentive programme"))
    return f"{mpn.mpn_id} – {mpn.location} ({programmes})"


class MpnChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return mpn_label(obj)


def hidden_errors_to_top(form: forms.Form) -> None:
    """Errors on hidden fields cannot show beside them; say them at the top of the form,
    naming the field, so a tampered value is explained."""
    for name, field in form.fields.items():
        if isinstance(field.widget, forms.HiddenInput) and name in form.errors:
            for error in form.errors[name]:
                form.errors.setdefault(NON_FIELD_ERRORS, form.error_class(error_class="nonfield")).append(
                    f"{field.label}: {error}"
                )
