"""Forms for signing in, passwords, the Users page and MPN IDs' enrolment. They validate and
lay out; the changes themselves are cpor.services'."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Div, Field, Layout, Submit
from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.urls import reverse_lazy
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .models import MpnId, Program, Role, User


def _helper(submit_label, *, form_tag=True, **attrs) -> FormHelper:
    helper = FormHelper()
    helper.form_tag = form_tag
    for name, value in attrs.items():
        setattr(helper, name, value)
    helper.add_input(Submit("submit", submit_label))
    return helper


class SignInForm(auth_forms.AuthenticationForm):
    """Email and password. Emails compare case-insensitively (see UserManager.get_by_natural_key)."""

    username = auth_forms.UsernameField(
        label=_("Email address"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    error_messages = {
        "invalid_login": _(
            "The email address or password is incorrect. Check both and try again, "
            "or reset your password if you have forgotten it."
        ),
        "inactive": _("This account has been deactivated. Ask your organisation's Global admin to reactivate it."),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.helper = _helper(_("Sign in"), form_id="sign-in-form")

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            # The default backend turns deactivated users away like unknown ones. Someone who
            # knows the password deserves to know why; nobody else learns the account exists.
            username = self.cleaned_data.get("username")
            password = self.cleaned_data.get("password")
            deactivated = User.objects.filter(email__iexact=username, is_active=False).first() if username else None
            if deactivated is not None and password and deactivated.check_password(password):
                raise forms.ValidationError(self.error_messages["inactive"], code="inactive") from None
            raise


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset form for the address only: the view hands it to
    cpor.services.password_reset_request, which counts the request and leaves the email to a
    worker (in the user's own language, with links from SITE_URL)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = _("Email address")
        self.helper = _helper(_("Send me a reset link"))


class SetPasswordForm(auth_forms.SetPasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper(_("Set my password"))


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email address"))
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.INCENTIVES_USER)
    language = forms.ChoiceField(
        label=_("Language of the invitation"),
        choices=settings.LANGUAGES,
        help_text=_("Emails to this user are written in this language; they can change it later."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].initial = (get_language() or settings.LANGUAGE_CODE)[:2]
        self.helper = _helper(_("Send invitation"), form_id="invite-form", form_action=reverse_lazy("team_invite"))
        self.helper.layout = Layout(
            Field("email", autocomplete="off"),
            Div(Div("first_name", css_class="col-sm-6"), Div("last_name", css_class="col-sm-6"), css_class="row"),
            "role",
            "language",
        )

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class MpnProgramsForm(forms.Form):
    """The incentive programmes one MPN ID is enrolled in."""

    osa_sell = forms.BooleanField(label=Program.OSA_SELL.label, required=False)
    osu_m365 = forms.BooleanField(label=Program.OSU_M365.label, required=False)
    osu_bizapps = forms.BooleanField(label=Program.OSU_BIZAPPS.label, required=False)

    FIELD_PROGRAMS = {field: program for program, field in MpnId.PROGRAM_FIELDS.items()}

    def __init__(self, *args, mpn: MpnId, **kwargs):
        kwargs.setdefault("initial", {field: getattr(mpn, field) for field in self.FIELD_PROGRAMS})
        kwargs.setdefault("prefix", f"mpn-{mpn.pk}")
        super().__init__(*args, **kwargs)
        self.mpn = mpn
        # Laid out inline inside the table row's own <form>, whose Save button posts it.
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(*(Field(name, wrapper_class="mb-0 me-2") for name in self.FIELD_PROGRAMS))

    def programs(self) -> set[str]:
        return {program for field, program in self.FIELD_PROGRAMS.items() if self.cleaned_data.get(field)}
