"""The endpoint form: it validates and lays out; the services register and check."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.utils.translation import gettext_lazy as _

from .services import DEFAULT_EVENT_TYPES, EVENT_TYPES


class EndpointForm(forms.Form):
    url = forms.CharField(
        label=_("URL"),
        max_length=500,
        help_text=_("An https:// address of yours that accepts POST requests with a JSON body."),
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/cpor/webhooks", "spellcheck": "false"}),
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(
        label=_("Events"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Choose at least one event from the list."),
            "invalid_choice": _("Choose at least one event from the list."),
        },
        help_text=_("The claim events sent to this address, as History names them."),
    )
    is_active = forms.BooleanField(
        label=_("Active"), required=False, initial=True, help_text=_("A paused endpoint gets no new events.")
    )

    def __init__(self, *args, submit_label, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["events"].choices = [(action, label) for action, label in EVENT_TYPES.items()]
        self.initial.setdefault("events", list(DEFAULT_EVENT_TYPES))
        self.helper = FormHelper()
        self.helper.attrs = {"novalidate": ""}
        self.helper.form_id = "endpoint-form"
        self.helper.add_input(Submit("save", submit_label))
