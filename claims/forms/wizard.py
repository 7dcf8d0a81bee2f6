"""The claim wizard's forms: customer, solution area and activity, items, contacts."""

from crispy_forms.bootstrap import FormActions
from crispy_forms.layout import HTML, Div, Field, Fieldset, Layout, Submit
from django import forms
from django.utils.html import escape, format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from cpor.models import MpnId
from tenants.models import SolutionArea

from .. import selectors, validation
from ..models import ACTIVITY_PROGRAMS, Activity
from ..services import ClaimContacts, ClaimStart, ProductChoice, activity_rule_message
from ..validation import Problem
from .common import DOMAIN_RE, MpnChoiceField, back_button, hidden_errors_to_top, server_validated_helper

# --- The wizard's first pages: MPN ID and customer, solution area and activity, Associate customer


class CustomerFields(forms.Form):
    """Step 1: the MPN ID of the partner location, the customer's domain name and
    Directory ID / Tenant ID, which must be a verified pair in the directory."""

    mpn = MpnChoiceField(
        label=_("MPN ID"),
        queryset=MpnId.objects.none(),
        empty_label=_("Select an MPN ID"),
        error_messages={"invalid_choice": _("Select one of your organisation's MPN IDs.")},
        help_text=_("The partner location to associate with the customer, with the programmes it is enrolled in."),
    )
    domain = forms.CharField(
        label=_("Domain name"),
        max_length=253,
        help_text=_("One of the customer's verified domains, such as contoso.onmicrosoft.com."),
    )
    tenant_id = forms.CharField(
        label=_("Directory ID / Tenant ID"),
        max_length=64,
        help_text=_("A GUID, such as 00000000-0000-0000-0000-000000000000."),
    )

    hidden_fields: tuple[str, ...] = ()

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["mpn"].queryset = selectors.mpn_ids_of(user)
        for name in self.hidden_fields:
            self.fields[name].widget = forms.HiddenInput()
        self.tenant = None

    def clean_domain(self):
        domain = validation.normalise_domain(self.cleaned_data["domain"])
        if not DOMAIN_RE.match(domain):
            raise forms.ValidationError(_("Enter a domain name such as contoso.onmicrosoft.com."))
        return domain

    def clean_tenant_id(self):
        guid = validation.parse_guid(self.cleaned_data["tenant_id"])
        if guid is None:
            raise forms.ValidationError(Problem("not_a_guid").message)
        return guid

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("domain") and cleaned.get("tenant_id"):
            self.tenant = validation.tenant_for(cleaned["domain"], cleaned["tenant_id"])
            if self.tenant is None:
                self.add_error(None, Problem("domain_tenant_mismatch").message)
        return cleaned

    def _post_clean(self):
        super()._post_clean()
        hidden_errors_to_top(self)

    def carried(self) -> dict:
        """What this page passes on to the next one."""
        return {
            "mpn": self.cleaned_data["mpn"].pk,
            "domain": self.cleaned_data["domain"],
            "tenant_id": str(self.cleaned_data["tenant_id"]),
        }


class CustomerStepForm(CustomerFields):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = server_validated_helper()
        self.helper.form_id = "step-customer"
        self.helper.layout = Layout(
            "mpn",
            "domain",
            Field("tenant_id", autocomplete="off", spellcheck="false"),
            FormActions(back_button(), Submit("continue", _("Continue"))),
        )


def check_activity(form: forms.Form, area: str, activity: str) -> None:
    """The activity table of seed 003 and the MPN ID's enrolment, as form errors."""
    programs = ACTIVITY_PROGRAMS.get((area, activity))
    if programs is None:
        form.add_error(None, activity_rule_message())
        return
    mpn = form.cleaned_data.get("mpn")
    if mpn is not None:
        for problem in validation.mpn_problems(mpn, programs):
            form.add_error(
                None,
                _("MPN ID %(mpn)s isn't enrolled in %(program)s, which this activity needs.")
                % {"mpn": mpn.mpn_id, "program": problem.subject},
            )


class ActivityChoiceMixin(forms.Form):
    """Step 2: Solution area and Activity. For Business Applications, either Usage and/or
    Pre-sales, or Revenue association alone; for Microsoft 365, Usage."""

    solution_area = forms.ChoiceField(label=_("Solution area"), choices=SolutionArea.choices, widget=forms.RadioSelect)
    usage = forms.BooleanField(label=_("Usage"), required=False)
    presales = forms.BooleanField(label=_("Pre-sales"), required=False)
    revenue = forms.BooleanField(label=_("Revenue association"), required=False)

    def activity_fieldset(self):
        return Fieldset(
            _("Activity"),
            HTML(
                format_html(
                    '<p class="form-text mt-0">{}</p>',
                    _(
                        "For Business Applications, select either Usage and/or Pre-sales, or Revenue association. "
                        "For Microsoft 365, select Usage."
                    ),
                )
            ),
            Div(
                HTML(format_html('<div class="fw-semibold">{}</div>', _("Usage and/or Pre-sales"))),
                "usage",
                "presales",
                css_class="border rounded p-2 mb-2",
            ),
            Div("revenue", css_class="border rounded p-2 mb-3"),
        )

    def chosen_activity(self) -> str | None:
        data = self.cleaned_data
        area = data.get("solution_area")
        usage, presales, revenue = data.get("usage"), data.get("presales"), data.get("revenue")
        if not (usage or presales or revenue):
            self.add_error(None, _("Select an activity."))
            return None
        if area == SolutionArea.MICROSOFT_365:
            if presales or revenue:
                self.add_error(None, _("For Microsoft 365, the only activity is Usage."))
                return None
            return Activity.USAGE
        if revenue and (usage or presales):
            self.add_error(None, _("Revenue association is chosen alone, not with Usage or Pre-sales."))
            return None
        if revenue:
            return Activity.REVENUE
        if usage and presales:
            return Activity.USAGE_PRESALES
        return Activity.USAGE if usage else Activity.PRESALES

    @staticmethod
    def initial_for(activity: str) -> dict:
        return {
            "usage": activity in (Activity.USAGE, Activity.USAGE_PRESALES),
            "presales": activity in (Activity.PRESALES, Activity.USAGE_PRESALES),
            "revenue": activity == Activity.REVENUE,
        }


class ActivityStepForm(ActivityChoiceMixin, CustomerFields):
    hidden_fields = ("mpn", "domain", "tenant_id")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = server_validated_helper()
        self.helper.form_id = "step-activity"
        self.helper.layout = Layout(
            *self.hidden_fields,
            HTML(
                format_html(
                    '<p class="text-body-secondary" data-testid="enrolment">{}: {}</p>', _("MPN ID"), "{{ mpn_label }}"
                )
            ),
            "solution_area",
            self.activity_fieldset(),
            FormActions(back_button(), Submit("continue", _("Continue"))),
        )

    def clean(self):
        cleaned = super().clean()
        activity = self.chosen_activity()
        if activity and cleaned.get("solution_area"):
            check_activity(self, cleaned["solution_area"], activity)
        cleaned["activity"] = activity
        return cleaned

    def carried(self) -> dict:
        return {
            **super().carried(),
            "solution_area": self.cleaned_data["solution_area"],
            "activity": self.cleaned_data["activity"],
        }


class RevenueFieldsMixin(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, help_text=_("A name you choose for this claim."))
    solution_seller_name = forms.CharField(label=_("Dynamics solution seller name"), max_length=200, required=False)
    customer_name = forms.CharField(label=_("Customer name"), max_length=200, required=False)
    isv_solution_name = forms.CharField(label=_("Name of ISV product/solution"), max_length=200, required=False)

    REVENUE_FIELDS = ("solution_seller_name", "customer_name", "isv_solution_name")

    def require_revenue_fields(self, activity) -> None:
        if activity != Activity.REVENUE:
            return
        for name in self.REVENUE_FIELDS:
            if not self.has_error(name) and not (self.cleaned_data.get(name) or "").strip():
                self.add_error(name, _("This field is required for Revenue association."))

    def claim_start(self, activity) -> ClaimStart:
        data = self.cleaned_data
        return ClaimStart(
            mpn_id=data["mpn"].pk,
            domain=data["domain"],
            tenant_guid=data["tenant_id"],
            solution_area=data["solution_area"],
            activity=activity,
            name=data["name"],
            **{name: data.get(name, "") for name in self.REVENUE_FIELDS},
        )


class AssociateStepForm(RevenueFieldsMixin, CustomerFields):
    """Step 3, the Associate customer page: the claim's name and, for Revenue association,
    the three names it asks; Create claim saves the draft."""

    solution_area = forms.ChoiceField(label=_("Solution area"), choices=SolutionArea.choices)
    activity = forms.ChoiceField(label=_("Activity"), choices=Activity.choices)
    hidden_fields = ("mpn", "domain", "tenant_id", "solution_area", "activity")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        activity = self.data.get("activity") if self.is_bound else self.initial.get("activity")
        revenue = activity == Activity.REVENUE
        for name in self.REVENUE_FIELDS:
            if revenue:
                # Marked required on the page, not learnt from the errors after Create claim.
                self.fields[name].required = True
                self.fields[name].error_messages["required"] = _("This field is required for Revenue association.")
            else:
                del self.fields[name]
        self.helper = server_validated_helper()
        self.helper.form_id = "step-associate"
        self.helper.layout = Layout(
            *self.hidden_fields,
            "name",
            *(self.REVENUE_FIELDS if revenue else ()),
            FormActions(back_button(), Submit("create", _("Create claim"))),
        )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("solution_area") and cleaned.get("activity"):
            check_activity(self, cleaned["solution_area"], cleaned["activity"])
        self.require_revenue_fields(cleaned.get("activity"))
        return cleaned

    def claim_start(self, activity=None) -> ClaimStart:
        return super().claim_start(self.cleaned_data["activity"])


class DraftDetailsForm(RevenueFieldsMixin, ActivityChoiceMixin, CustomerFields):
    """A draft's first three pages on one: change the MPN ID, customer, solution area,
    activity or names. Changing the customer or the activity clears the products."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = server_validated_helper()
        self.helper.form_id = "draft-details"
        self.helper.layout = Layout(
            "mpn",
            "domain",
            "tenant_id",
            "solution_area",
            self.activity_fieldset(),
            "name",
            Fieldset(
                _("Revenue association only"),
                *self.REVENUE_FIELDS,
            ),
            FormActions(back_button(), Submit("continue", _("Save and continue"))),
        )

    @classmethod
    def initial_from(cls, claim) -> dict:
        return {
            "mpn": claim.mpn_id,
            "domain": claim.domain,
            "tenant_id": str(claim.tenant_guid),
            "solution_area": claim.solution_area,
            "name": claim.name,
            "solution_seller_name": claim.solution_seller_name,
            "customer_name": claim.customer_name,
            "isv_solution_name": claim.isv_solution_name,
            **ActivityChoiceMixin.initial_for(claim.activity),
        }

    def clean(self):
        cleaned = super().clean()
        activity = self.chosen_activity()
        if activity and cleaned.get("solution_area"):
            check_activity(self, cleaned["solution_area"], activity)
        self.require_revenue_fields(activity)
        cleaned["activity"] = activity
        return cleaned


# --- Draft steps: products or workloads, contacts, PoE, comments ---------------------------


class ItemsForm(forms.Form):
    """Step 4: the product(s) (Business Applications) or workload(s) (Microsoft 365) of the
    customer's tenant. `tenant_id` is the tenant this page was drawn for: if the draft's
    tenant changed since (another tab), the choice is refused rather than applied to the
    wrong customer."""

    tenant_id = forms.CharField(widget=forms.HiddenInput, label=_("Directory ID / Tenant ID"))

    def __init__(self, *args, claim, options, **kwargs):
        super().__init__(*args, **kwargs)
        self.claim = claim
        self.options = options
        self.business_applications = claim.solution_area == SolutionArea.BUSINESS_APPLICATIONS
        self.initial.setdefault("tenant_id", str(claim.tenant_guid))
        label = _("Product(s)") if self.business_applications else _("Workload(s)")
        self.fields["items"] = forms.TypedMultipleChoiceField(
            label=label,
            coerce=int,
            choices=[(option.pk, option.name) for option in options],
            widget=forms.CheckboxSelectMultiple,
            error_messages={
                "required": Problem("no_items").message,
                "invalid_choice": _("Select products or workloads from the list."),
            },
        )
        subscription_fields = []
        for option in options:
            if option.needs_subscription_id:
                name = f"subscription_{option.pk}"
                self.fields[name] = forms.CharField(
                    label=_("Subscription ID for %(product)s") % {"product": option.name},
                    required=False,
                    max_length=64,
                    help_text=_(
                        "The customer has several %(product)s subscriptions: enter the ID of the one you claim."
                    )
                    % {"product": option.name},
                )
                subscription_fields.append(Field(name, autocomplete="off", spellcheck="false"))
        self.helper = server_validated_helper()
        self.helper.form_id = "step-items"
        self.helper.layout = Layout(
            "tenant_id",
            "items",
            *subscription_fields,
            FormActions(back_button(), Submit("continue", _("Continue"))),
        )

    def clean_tenant_id(self):
        if validation.parse_guid(self.cleaned_data["tenant_id"]) != self.claim.tenant_guid:
            raise forms.ValidationError(
                _("This page was for another customer tenant; the claim has changed since. Check the products again.")
            )
        return self.cleaned_data["tenant_id"]

    def clean(self):
        cleaned = super().clean()
        by_pk = {option.pk: option for option in self.options}
        for pk in cleaned.get("items") or ():
            option = by_pk[pk]
            if option.needs_subscription_id and not (cleaned.get(f"subscription_{pk}") or "").strip():
                self.add_error(f"subscription_{pk}", Problem("subscription_required", option.name).message)
        return cleaned

    def _post_clean(self):
        super()._post_clean()
        hidden_errors_to_top(self)

    def product_choices(self) -> list[ProductChoice]:
        return [
            ProductChoice(pk, (self.cleaned_data.get(f"subscription_{pk}") or "").strip())
            for pk in self.cleaned_data["items"]
        ]

    def workload_ids(self) -> list[int]:
        return list(self.cleaned_data["items"])


class ContactsForm(forms.Form):
    """Step 5: the customer's contact, the technical contact for Dynamics 365, and your
    company's contact. All fields are required.

    The page says the contacts' rules beside the fields, and checks them as early feedback:
    the customer's addresses are on the tenant's verified domains (listed), the partner's
    contact is one of the partner's active users (offered in a list). The service checks
    them again, and so does the background validation."""

    customer_contact_name = forms.CharField(label=_("Customer contact name"), max_length=200)
    customer_contact_title = forms.CharField(label=_("Customer contact title"), max_length=200)
    customer_contact_email = forms.EmailField(label=_("Customer contact email"))
    technical_contact_name = forms.CharField(label=_("Technical contact name"), max_length=200)
    technical_contact_title = forms.CharField(label=_("Technical contact title"), max_length=200)
    technical_contact_email = forms.EmailField(label=_("Technical contact email"))
    partner_contact_name = forms.CharField(label=_("Your contact name"), max_length=200)
    partner_contact_email = forms.EmailField(label=_("Your contact email"))

    TECHNICAL = ("technical_contact_name", "technical_contact_title", "technical_contact_email")

    PARTNER_EMAILS_LIST_ID = "partner-contact-emails"

    def __init__(self, *args, claim, **kwargs):
        super().__init__(*args, **kwargs)
        self.claim = claim
        self.domain_names = list(claim.tenant.domains.values_list("name", flat=True)) if claim.tenant else []
        self.partner_emails = list(validation.partner_contact_users(claim.partner).values_list("email", flat=True))
        technical = claim.needs_technical_contact
        if not technical:
            for name in self.TECHNICAL:
                del self.fields[name]
        # Help texts are not escaped when rendered: the domain names are.
        on_domains = _("On one of the customer's verified domains (or a subdomain of one): %(domains)s.") % {
            "domains": escape(", ".join(self.domain_names))
        }
        self.fields["customer_contact_email"].help_text = on_domains
        if technical:
            self.fields["technical_contact_email"].help_text = on_domains
        self.fields["partner_contact_email"].help_text = _(
            "One of your organisation's active users in this application: partner mail about this claim goes there."
        )
        datalist = format_html(
            '<datalist id="{}">{}</datalist>',
            self.PARTNER_EMAILS_LIST_ID,
            format_html_join("", '<option value="{}"></option>', ((email,) for email in self.partner_emails)),
        )
        self.helper = server_validated_helper()
        self.helper.form_id = "step-contacts"
        self.helper.layout = Layout(
            Fieldset(
                _("Customer contact"), "customer_contact_name", "customer_contact_title", "customer_contact_email"
            ),
            *(
                [
                    Fieldset(
                        _("Technical contact (Dynamics 365)"),
                        *self.TECHNICAL,
                    )
                ]
                if technical
                else []
            ),
            Fieldset(
                _("Your company's contact"),
                "partner_contact_name",
                Field("partner_contact_email", list=self.PARTNER_EMAILS_LIST_ID, autocomplete="off"),
                HTML(datalist),
            ),
            FormActions(back_button(), Submit("continue", _("Continue"))),
        )

    def _on_domains(self, name: str, code: str):
        address = self.cleaned_data.get(name, "")
        if address and not validation.is_on_verified_domain(address, self.domain_names):
            raise forms.ValidationError(Problem(code).message, code=code)
        return address

    def clean_customer_contact_email(self):
        return self._on_domains("customer_contact_email", "customer_contact_off_domain")

    def clean_technical_contact_email(self):
        return self._on_domains("technical_contact_email", "technical_contact_off_domain")

    def clean_partner_contact_email(self):
        address = self.cleaned_data.get("partner_contact_email", "")
        if address and address.lower() not in {email.lower() for email in self.partner_emails}:
            raise forms.ValidationError(
                Problem("partner_contact_not_a_user").message, code="partner_contact_not_a_user"
            )
        return address

    @staticmethod
    def initial_from(claim) -> dict:
        return {name: getattr(claim, name) for name in ContactsForm.base_fields}

    def contacts(self) -> ClaimContacts:
        return ClaimContacts(**{name: self.cleaned_data.get(name, "") for name in ContactsForm.base_fields})
