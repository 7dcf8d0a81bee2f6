from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout, Submit
from django import forms
from django.utils.translation import gettext_lazy as _

from cpor.models import Role


class ApiKeyForm(forms.Form):
    """A new API key: a name to recognise it by, and the role it acts with."""

    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("What uses this key, such as “CRM sync”."))
    role = forms.ChoiceField(
        label=_("Role"),
        choices=Role.choices,
        initial=Role.INCENTIVES_USER,
        help_text=_("The key can do what a user with this role can do on the site, no more."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_id = "api-key-form"
        self.helper.attrs = {"novalidate": ""}
        self.helper.layout = Layout("name", "role", Submit("create", _("Create key")))
