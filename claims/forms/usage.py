"""The usage page's filters (and the API's usage endpoint's)."""

import datetime

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import usage
from ..validation import parse_guid


def _parse_month(value: str) -> datetime.date | None:
    try:
        return datetime.datetime.strptime(value.strip(), "%Y-%m").date()
    except ValueError:
        return None


class ParsedField(forms.CharField):
    """Text that stands for a value: `parse` gives it, or None when the text is not one (the
    field's "invalid" message). An empty field is None."""

    @staticmethod
    def parse(text: str):
        raise NotImplementedError

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        parsed = self.parse(value)
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed


class MonthField(ParsedField):
    """A month as YYYY-MM (what <input type="month"> sends), cleaned to its first day."""

    widget = forms.DateInput(attrs={"type": "month", "placeholder": "YYYY-MM"})
    default_error_messages = {"invalid": gettext_lazy("Enter a month as YYYY-MM, such as 2026-01.")}
    parse = staticmethod(_parse_month)


class TenantIdField(ParsedField):
    """A customer by its Directory ID / Tenant ID, typed or followed from a customer's name in
    the table: a text box rather than a drop-down of every customer, which at tens of
    thousands of customers is what made the page slow."""

    widget = forms.TextInput(attrs={"placeholder": "00000000-0000-0000-0000-000000000000"})
    default_error_messages = {
        "invalid": gettext_lazy("Enter a Directory ID / Tenant ID, such as 00000000-0000-0000-0000-000000000000.")
    }
    parse = staticmethod(parse_guid)


class UsageFilterForm(forms.Form):
    tenant = TenantIdField(
        label=gettext_lazy("Customer"),
        required=False,
        help_text=gettext_lazy("Directory ID / Tenant ID; or select a customer's name in the table."),
    )
    month_from = MonthField(label=gettext_lazy("From month"), required=False)
    month_to = MonthField(label=gettext_lazy("To month"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_tenant(self):
        guid = self.cleaned_data["tenant"]
        if guid is None:
            return None
        tenant = usage.usage_tenant_of(self.user, guid)
        if tenant is None:
            raise forms.ValidationError(
                _("None of your customers with approved items has this Directory ID / Tenant ID."), code="unknown"
            )
        return tenant

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("month_from"), cleaned.get("month_to")
        if start and end and start > end:
            self.add_error("month_to", _("The last month must not come before the first."))
        return cleaned

    def filters(self, claim=None) -> usage.UsageFilters:
        """The filters to apply; none of the form's when it is invalid (its errors show)."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return usage.UsageFilters(
            tenant=data.get("tenant"), month_from=data.get("month_from"), month_to=data.get("month_to"), claim=claim
        )
