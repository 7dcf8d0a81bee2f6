"""The customer associations list's filters."""

from django import forms
from django.utils.translation import gettext_lazy as _

from tenants.models import SolutionArea

from .. import selectors
from ..models import Activity, ClaimStatus

# --- Customer associations list -------------------------------------------------------


class ClaimFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("Claim ID, name, domain or tenant ID"), "type": "search"}),
        help_text=_("A number finds that claim ID; a GUID, that tenant ID; any other text, part of a name or domain."),
    )
    status = forms.ChoiceField(label=_("Status"), required=False)
    solution_area = forms.ChoiceField(label=_("Solution area"), required=False)
    activity = forms.ChoiceField(label=_("Activity"), required=False)
    mpn = forms.ChoiceField(label=_("MPN ID"), required=False)
    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        everything = [("", _("All"))]
        self.fields["status"].choices = everything + list(ClaimStatus.choices)
        self.fields["solution_area"].choices = everything + list(SolutionArea.choices)
        self.fields["activity"].choices = everything + list(Activity.choices)
        numbers = selectors.mpn_ids_of(user).values_list("mpn_id", flat=True)
        self.fields["mpn"].choices = everything + [(number, number) for number in numbers]

    def filters(self) -> selectors.ClaimFilters:
        # A bad value in one field (a stale link, a tampered URL) drops that filter, not the others.
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return selectors.ClaimFilters(
            q=data.get("q", ""),
            status=data.get("status", ""),
            solution_area=data.get("solution_area", ""),
            activity=data.get("activity", ""),
            mpn=data.get("mpn", ""),
            sort=data.get("sort") or selectors.DEFAULT_SORT,
        )
