"""**+ Customer association**: the seed's numbered steps, one server-rendered page each.

1. MPN ID, domain name, Directory ID / Tenant ID → Continue
2. Solution area and Activity → Continue
3. Associate customer → Create claim (the claim now exists as a Draft)
4. Product(s) or workload(s) → Continue
5. Contacts → Continue
6. Proof of execution (drag and drop, browse, Download template) → Continue
7. Comments → Submit claim

Pages 1 to 3 carry what earlier pages asked in the query string and hidden fields, and
re-validate all of it on every page; from page 4 on the draft holds it. A draft can be
left and resumed at any step, changed and deleted; once submitted it only shows.
"""

import functools
from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cpor import access
from cpor.access import partner_required
from tenants.models import SolutionArea

from . import presentation, selectors, services
from .forms import (
    ActivityChoiceMixin,
    ActivityStepForm,
    AssociateStepForm,
    CommentForm,
    ContactsForm,
    CustomerFields,
    CustomerStepForm,
    DraftDetailsForm,
    ItemsForm,
    ProofUploadForm,
    mpn_label,
)
from .lifecycle import ClaimError
from .models import ACTIVITY_PROGRAMS, ClaimStatus
from .rendering import claim_fields, comment_cards, items_table
from .services import ClaimProblems
from .views import comment_save

STEP_LABELS = [
    gettext_lazy("MPN ID and customer"),
    gettext_lazy("Solution area and activity"),
    gettext_lazy("Associate customer"),
    gettext_lazy("Products"),
    gettext_lazy("Contacts"),
    gettext_lazy("Proof of execution"),
    gettext_lazy("Comments and submit"),
]
DRAFT_STEP_URLS = {
    4: "claims:draft_items",
    5: "claims:draft_contacts",
    6: "claims:draft_proof",
    7: "claims:draft_submit",
}

filer_required = partner_required(access.FILE_CLAIMS)


def steps(current: int, claim=None) -> list[dict]:
    """The step indicator: every step with its number and label, done ones linked on a draft."""
    result = []
    for number, label in enumerate(STEP_LABELS, start=1):
        if number == 4 and claim is not None and claim.solution_area == SolutionArea.MICROSOFT_365:
            label = gettext_lazy("Workloads")
        url = None
        if claim is not None and number != current:
            url = reverse(DRAFT_STEP_URLS.get(number, "claims:draft_details"), args=[claim.pk])
        state = "current" if number == current else "done" if number < current else "todo"
        result.append({"number": number, "label": label, "state": state, "url": url})
    return result


def wizard_context(current: int, claim=None, **extra) -> dict:
    crumbs = [
        (_("Incentives"), None),
        (_("Overview"), reverse("claims:overview")),
        (_("Customer associations"), reverse("claims:list")),
        (_("Customer association"), None),
    ]
    return {"nav": "incentives", "breadcrumbs": crumbs, "steps": steps(current, claim), "claim": claim, **extra}


def _step_page(request, current: int, claim=None, *, template: str = "step", **context):
    """One of the wizard's pages (`claims/wizard/<template>.html`), with its step indicator."""
    return render(request, f"claims/wizard/{template}.html", wizard_context(current, claim, **context))


def next_step_url(claim) -> str:
    """Where a draft resumes: the first step it still lacks."""
    if not claim.items.exists():
        return reverse("claims:draft_items", args=[claim.pk])
    if any(not getattr(claim, field) for field in _required_contacts(claim)):
        return reverse("claims:draft_contacts", args=[claim.pk])
    if not claim.proofs.exists():
        return reverse("claims:draft_proof", args=[claim.pk])
    return reverse("claims:draft_submit", args=[claim.pk])


def _required_contacts(claim):
    return [
        name for name in ContactsForm.base_fields if claim.needs_technical_contact or name not in ContactsForm.TECHNICAL
    ]


def _with_query(url_name: str, params: dict) -> str:
    return f"{reverse(url_name)}?{urlencode(params)}"


def _add_problems(form, error: ClaimError, listed: dict[str, str] | None = None) -> None:
    """The refusal as form errors, each said once: a problem already listed above the form
    (`listed`: its subject -> the item's name) is only pointed to, by the item's name."""
    if not isinstance(error, ClaimProblems):
        form.add_error(None, error.message)
        return
    pointed = set()
    for problem in error.problems:
        item = (listed or {}).get(problem.subject)
        if item is None:
            form.add_error(None, problem.message)
        elif item not in pointed:
            pointed.add(item)
            form.add_error(None, _("%(item)s cannot be claimed: the reason is given above.") % {"item": item})


def _listed_above(options) -> dict[str, str]:
    """The items step's early feedback: the subjects whose refusal the page already shows
    (a single subscription's problems or own holding, a workload already held)."""
    listed = {}
    for option in options:
        if option.subscriptions and option.subscription_count == 1 and (option.problems or option.own):
            listed[str(option.subscriptions[0].subscription_id)] = option.name
        elif not option.subscriptions and option.own:
            listed[option.name] = option.name
    return listed


# --- Steps 1 to 3: before the claim exists ----------------------------------------------


@filer_required
def start(request):
    """Step 1: MPN ID, domain name, Directory ID / Tenant ID."""
    if request.method == "POST":
        form = CustomerStepForm(request.POST, user=request.user)
        if form.is_valid():
            return redirect(_with_query("claims:new_activity", form.carried()))
    else:
        form = CustomerStepForm(initial=request.GET.dict(), user=request.user)
    return _step_page(
        request,
        1,
        form=form,
        title=_("MPN ID and customer"),
        intro=_(
            "Select the MPN ID of the partner location to be associated with the customer, and then add the "
            "customer's domain name and Directory ID."
        ),
        back_url=reverse("claims:list"),
    )


def _carried_customer(request, source):
    """Re-check what page 1 passed on; None if it no longer holds (back to page 1)."""
    customer = CustomerFields(source, user=request.user)
    return customer if customer.is_valid() else None


@filer_required
def activity(request):
    """Step 2: Solution area and Activity."""
    if request.method == "POST":
        form = ActivityStepForm(request.POST, user=request.user)
        if form.is_valid():
            return redirect(_with_query("claims:new_associate", form.carried()))
        customer = _carried_customer(request, request.POST)
    else:
        customer = _carried_customer(request, request.GET)
        if customer is None:
            return redirect(_with_query("claims:new", request.GET.dict()))
        initial = {**request.GET.dict(), **ActivityChoiceMixin.initial_for(request.GET.get("activity", ""))}
        form = ActivityStepForm(initial=initial, user=request.user)
    carried = customer.carried() if customer else {}
    return _step_page(
        request,
        2,
        form=form,
        title=_("Solution area and activity"),
        intro=_("Select the Solution area and Activity."),
        mpn_label=mpn_label(customer.cleaned_data["mpn"]) if customer else "",
        back_url=_with_query("claims:new", carried),
    )


@filer_required
def associate(request):
    """Step 3, Associate customer: the claim's name (and for Revenue association, the
    Dynamics solution seller name, customer name and ISV product/solution name).
    **Create claim** saves the draft."""
    if request.method == "POST":
        form = AssociateStepForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                claim = services.claim_create_draft(user=request.user, start=form.claim_start())
            except ClaimError as error:
                _add_problems(form, error)
            else:
                messages.success(request, _("Claim created. It is a draft until you submit it."))
                return redirect("claims:draft_items", claim.pk)
        source = request.POST
    else:
        source = request.GET
        customer = _carried_customer(request, source)
        area, chosen = source.get("solution_area", ""), source.get("activity", "")
        if customer is None:
            return redirect(_with_query("claims:new", source.dict()))
        if (area, chosen) not in ACTIVITY_PROGRAMS:
            return redirect(_with_query("claims:new_activity", source.dict()))
        form = AssociateStepForm(initial=source.dict(), user=request.user)
    back = {key: source.get(key, "") for key in ("mpn", "domain", "tenant_id", "solution_area", "activity")}
    return _step_page(
        request,
        3,
        form=form,
        title=_("Associate customer"),
        intro=_("Enter the appropriate information, and then select Create claim."),
        back_url=_with_query("claims:new_activity", back),
    )


# --- Steps 4 to 7: on the draft -----------------------------------------------------------


def draft_required(view):
    """The view gets the user's partner's claim `pk` (404 otherwise) as `claim`; if it is no
    longer a draft, the partner is sent to its page: after submission nothing is edited."""

    @functools.wraps(view)
    def wrapper(request, pk, **kwargs):
        claim = selectors.claim_get_for_user(request.user, pk)
        if claim.status != ClaimStatus.DRAFT:
            messages.error(request, _("This claim has been submitted and can no longer be changed."))
            return redirect("claims:detail", claim.pk)
        return view(request, claim, **kwargs)

    return wrapper


@filer_required
@draft_required
def draft_details(request, claim):
    """Steps 1 to 3 of a draft on one page, to change them."""
    if request.method == "POST":
        form = DraftDetailsForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                services.claim_update_draft(
                    user=request.user, claim_id=claim.pk, start=form.claim_start(form.cleaned_data["activity"])
                )
            except ClaimError as error:
                _add_problems(form, error)
            else:
                return redirect("claims:draft_items", claim.pk)
    else:
        form = DraftDetailsForm(initial=DraftDetailsForm.initial_from(claim), user=request.user)
    return _step_page(
        request,
        3,
        claim,
        form=form,
        title=_("Associate customer"),
        intro=_("Changing the customer or the activity clears the products or workloads you selected."),
        back_url=reverse("claims:detail", args=[claim.pk]),
    )


@filer_required
@draft_required
def draft_items(request, claim):
    """Step 4: the product(s) or workload(s), with what the directory says about each before
    the partner goes on: errors stop, a competing claim is announced."""
    business = claim.solution_area == SolutionArea.BUSINESS_APPLICATIONS
    options = selectors.product_options_for(claim) if business else selectors.workload_options_for(claim)
    if request.method == "POST":
        form = ItemsForm(request.POST, claim=claim, options=options)
        if form.is_valid():
            try:
                if business:
                    competing = services.claim_set_items(
                        user=request.user, claim_id=claim.pk, products=form.product_choices()
                    )
                else:
                    competing = services.claim_set_items(
                        user=request.user, claim_id=claim.pk, workload_ids=form.workload_ids()
                    )
            except ClaimError as error:
                _add_problems(form, error, listed=_listed_above(options))
            else:
                for label in competing:
                    messages.warning(request, competing_message(label))
                return redirect("claims:draft_contacts", claim.pk)
    else:
        form = ItemsForm(initial=_items_initial(claim, options), claim=claim, options=options)
    return _step_page(
        request,
        4,
        claim,
        form=form,
        options=options,
        business=business,
        title=_("Products") if business else _("Workloads"),
        intro=_("Select the product(s) associated with this customer association, and then select Continue.")
        if business
        else _("Select the workload(s) associated with this customer association, and then select Continue."),
        back_url=reverse("claims:draft_details", args=[claim.pk]),
        template="items",
    )


def competing_message(label: str) -> str:
    return _(
        "%(item)s: another partner already holds or claims this item; your claim will go to arbitration. Reviewers "
        "will compare the proofs of execution and may ask for more."
    ) % {"item": label}


def _items_initial(claim, options) -> dict:
    initial = {"tenant_id": str(claim.tenant_guid), "items": []}
    by_product = {option.pk: option for option in options}
    for item in claim.items.all():
        if item.workload_id:
            initial["items"].append(item.workload_id)
            continue
        initial["items"].append(item.product_id)
        option = by_product.get(item.product_id)
        if option is not None and option.needs_subscription_id:
            initial[f"subscription_{item.product_id}"] = str(item.subscription.subscription_id)
    initial["items"] = list(dict.fromkeys(initial["items"]))
    return initial


@filer_required
@draft_required
def draft_contacts(request, claim):
    """Step 5: the customer contact, the technical contact for Dynamics 365, and your
    company's contact. All fields are required."""
    if request.method == "POST":
        form = ContactsForm(request.POST, claim=claim)
        if form.is_valid():
            try:
                services.claim_set_contacts(user=request.user, claim_id=claim.pk, contacts=form.contacts())
            except ClaimError as error:
                _add_problems(form, error)
            else:
                return redirect("claims:draft_proof", claim.pk)
    else:
        form = ContactsForm(initial=ContactsForm.initial_from(claim), claim=claim)
    return _step_page(
        request,
        5,
        claim,
        form=form,
        title=_("Contacts"),
        intro=_(
            "Complete the customer contact information and your company's contact information. All fields are required."
        ),
        back_url=reverse("claims:draft_items", args=[claim.pk]),
    )


@filer_required
@draft_required
def draft_proof(request, claim):
    """Step 6: proof of execution. Drag files to the box, browse, or Download template."""
    if request.method == "POST":
        form = ProofUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                added = services.claim_add_proofs(
                    user=request.user, claim_id=claim.pk, files=form.cleaned_data["files"]
                )
            except ClaimError as error:
                form.add_error("files", error.message)
            else:
                messages.success(request, _("%(count)d file(s) added.") % {"count": len(added)})
                return redirect("claims:draft_proof", claim.pk)
    else:
        form = ProofUploadForm()
    return _step_page(
        request,
        6,
        claim,
        form=form,
        proofs=selectors.claim_proofs(claim),
        title=_("Proof of execution"),
        back_url=reverse("claims:draft_contacts", args=[claim.pk]),
        next_url=reverse("claims:draft_submit", args=[claim.pk]),
        template="proof",
    )


@require_POST
@filer_required
@draft_required
def draft_proof_remove(request, claim, proof_pk):
    services.claim_remove_poe(user=request.user, claim_id=claim.pk, proof_id=proof_pk)
    messages.success(request, _("File removed."))
    return redirect("claims:draft_proof", claim.pk)


@require_POST
@filer_required
def submit(request, pk):
    """**Submit claim**: the claim freezes and goes to validation. A second submit (a double
    click, another tab) is told the claim was already submitted, and changes nothing."""
    claim = selectors.claim_get_for_user(request.user, pk)
    try:
        services.claim_submit(user=request.user, claim_id=claim.pk)
    except ClaimError as error:
        messages.error(request, error.message)
        if claim.status != ClaimStatus.DRAFT:
            return redirect("claims:detail", claim.pk)
        return redirect("claims:draft_submit", claim.pk)
    messages.success(
        request,
        _(
            "Your claim has been submitted. We'll validate it, then email the customer, who has five business "
            "days to opt out."
        ),
    )
    return redirect("claims:detail", claim.pk)


@filer_required
@draft_required
def draft_submit(request, claim):
    """Step 7: add and save comments if you like, then **Submit claim** (posted to `submit`)."""
    comment_form = CommentForm()
    if request.method == "POST":
        comment_form = CommentForm(request.POST)
        if comment_save(request, claim, comment_form):
            return redirect("claims:draft_submit", claim.pk)
    comments = presentation.comment_entries(selectors.comments_visible_to(request.user, claim))
    return _step_page(
        request,
        7,
        claim,
        comment_form=comment_form,
        comments=comments,
        comment_cards=comment_cards(comments),
        claim_fields=claim_fields(claim),
        items_table=items_table(claim, selectors.claim_items_grouped(claim), meanings=False),
        proofs=selectors.claim_proofs(claim),
        missing=services.claim_missing_for_submission(claim),
        competing=selectors.claim_competing_labels(claim),
        title=_("Comments and submit"),
        back_url=reverse("claims:draft_proof", args=[claim.pk]),
        template="submit",
    )


@filer_required
@draft_required
def draft_delete(request, claim):
    if request.method == "POST":
        services.claim_delete_draft(user=request.user, claim_id=claim.pk)
        messages.success(request, _("The draft has been deleted."))
        return redirect("claims:list")
    return _step_page(
        request,
        0,
        claim,
        template="delete",
        title=_("Delete draft"),
        back_url=reverse("claims:detail", args=[claim.pk]),
    )
