"""The reviewers' back office (PRODUCT.md section 5, steps 5 and 7) in the Django admin.

Reviewers never edit a claim's data: every field is read-only, nothing is added or deleted,
and the status changes only through the actions on the claim's page (comment to the
partner, internal note, request information, reject) and the arbitration page of a
contested item, which call the services in `claims.review`. Only reviewers
(`cpor.access.is_reviewer`) reach any of it: other staff get 403, everyone else the admin's
sign-in page.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial, wraps

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import smart_split, unescape_string_literal
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from cpor import access
from cpor.admin_mixins import OutboxAdminMixin, OutboxStateFilter, ReadOnlyAdminMixin
from cpor.models import MpnId, Partner

from . import dashboard, presentation, review
from .forms import DecideForm, DisputeAnswerForm, RejectForm, RequestInformationForm, ReviewerCommentForm, TakeForm
from .lifecycle import ClaimError
from .models import REVIEW_STATUSES, Claim, ClaimEvent, ClaimStatus, Comment, CustomerEmail
from .selectors import CappedPaginator
from .selectors import review as reads
from .validation import parse_guid


def _form_errors(form: forms.Form) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


# --- Guards -------------------------------------------------------------------------------------------


def reviewer_required(view):
    """Inside `admin_site.admin_view` (signed-in active staff, CSRF): reviewers only, 403
    for other staff."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not access.is_reviewer(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


class ReviewerOnlyMixin(ReadOnlyAdminMixin):
    """Reviewers read; nobody adds, changes or deletes through the admin."""

    actions = None

    def has_module_permission(self, request):
        return access.is_reviewer(request.user)

    def has_view_permission(self, request, obj=None):
        return access.is_reviewer(request.user)


# --- List filters ---------------------------------------------------------------------------------------


class YesNoAnnotationFilter(admin.SimpleListFilter):
    """Filter on a boolean the changelist's queryset annotates (`field`)."""

    field = ""
    labels = ("", "")

    def lookups(self, request, model_admin):
        return [("yes", self.labels[0]), ("no", self.labels[1])]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(**{self.field: self.value() == "yes"})
        return queryset


class OverdueFilter(YesNoAnnotationFilter):
    title = _("review overdue")
    parameter_name = "overdue"
    field = "is_overdue"
    labels = (_("Overdue"), _("Not overdue"))


class ContestedFilter(YesNoAnnotationFilter):
    title = _("competing claims")
    parameter_name = "contested"
    field = "has_contested"
    labels = (_("Has contested items"), _("No contested items"))


class CustomerNoticeFilter(admin.SimpleListFilter):
    """Claims in review whose customer has not received every notice: the opt-out window
    starts with the customer contact's notice, and the timer approves none of them."""

    title = _("customer notices")
    parameter_name = "customer_notified"

    def lookups(self, request, model_admin):
        return [("no", _("Customer not yet notified")), ("yes", _("Every notice sent"))]

    def queryset(self, request, queryset):
        if self.value() not in ("yes", "no"):
            return queryset
        unsent = CustomerEmail.objects.filter(claim=OuterRef("pk"), sent_at__isnull=True)
        if self.value() == "no":
            return queryset.on_reviewers_desk().filter(Exists(unsent))
        return queryset.exclude(Exists(unsent)).filter(notified_at__isnull=False)


class StuckInSubmittedFilter(admin.SimpleListFilter):
    """Claims no validation has moved out of Submitted within minutes (`reads.stuck_in_submitted`)."""

    title = _("validation")
    parameter_name = "stuck"

    def lookups(self, request, model_admin):
        return [("yes", _("Stuck in Submitted (> 5 min)"))]

    def queryset(self, request, queryset):
        return queryset.filter(reads.stuck_in_submitted()) if self.value() == "yes" else queryset


class AssignedFilter(admin.SimpleListFilter):
    """The reviewers' queue: their own claims, nobody's yet, or every claim (the default, so
    that a reviewer who holds nothing still sees the desk). Mine and Unassigned are the claims
    still on the desk (under review or waiting for the partner): a decided claim waits for
    nobody."""

    title = _("assigned to")
    parameter_name = "assigned"

    def lookups(self, request, model_admin):
        return [("mine", _("Mine")), ("unassigned", _("Unassigned"))]

    def queryset(self, request, queryset):
        if self.value() == "mine":
            return queryset.filter(assigned_to=request.user, status__in=REVIEW_STATUSES)
        if self.value() == "unassigned":
            return queryset.filter(assigned_to__isnull=True, status__in=REVIEW_STATUSES)
        return queryset


# --- The reviewers' actions on a claim's page ------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ReviewerAction:
    """A button on a claim's page: the form it posts, whose fields are named as the arguments
    of the one service in `claims.review` it calls (with `arguments`, what the button itself
    says), and what the reviewer reads when that worked."""

    form: type[forms.Form]
    service: Callable[..., object]
    success: str
    arguments: dict = dataclasses.field(default_factory=dict)


# Each button posts to `<claim id>/<slug>/`, URL name `claims_claim_<slug with underscores>`,
# and does what its posted `decision` names (None: whatever else it posts).
REVIEWER_ACTIONS: dict[str, dict[str | None, ReviewerAction]] = {
    "comment": {
        None: ReviewerAction(
            ReviewerCommentForm,
            review.claim_comment_add_by_reviewer,
            _("Comment sent to the partner."),
            {"internal": False},
        )
    },
    "internal-note": {
        None: ReviewerAction(
            ReviewerCommentForm,
            review.claim_comment_add_by_reviewer,
            _("Internal note saved. Partners never see it."),
            {"internal": True},
        )
    },
    "request-information": {
        None: ReviewerAction(
            RequestInformationForm,
            review.claim_request_information,
            _("Information requested: the claim is now Partner action required."),
        )
    },
    "reject": {None: ReviewerAction(RejectForm, review.claim_reject, _("Claim rejected."))},
    # Uphold or overturn, as the button pressed says.
    "dispute-answer": {
        None: ReviewerAction(DisputeAnswerForm, review.dispute_uphold, _("Rejection upheld: it is now final.")),
        "overturn": ReviewerAction(
            DisputeAnswerForm, review.dispute_overturn, _("Rejection overturned: the claim is back under review.")
        ),
    },
    # Taking a claim from another reviewer needs the confirmed "take over" (TakeForm).
    "take": {None: ReviewerAction(TakeForm, review.claim_take, _("You have taken this claim."))},
    "release": {
        None: ReviewerAction(forms.Form, review.claim_release, _("Claim released: it is back on the desk, unassigned."))
    },
}


# --- Claims ------------------------------------------------------------------------------------------------


def moment_column(field: str, description, *, customers: bool = False):
    """A read-only date column that names its zone: the customer's (`customers`) or the reader's."""

    @admin.display(description=description, ordering=field)
    def column(self, obj):
        value = getattr(obj, field)
        if value is None:
            return "—"
        zone = obj.tenant.time_zone if customers and obj.tenant else None
        return presentation.format_moment(value, time_zone=zone)

    return column


@admin.register(Claim)
class ClaimAdmin(ReviewerOnlyMixin, admin.ModelAdmin):
    change_form_template = "admin/claims/claim/change_form.html"
    list_display = (
        "id",
        "name",
        "partner_column",
        "mpn_column",
        "tenant_column",
        "solution_area",
        "activity",
        "status",
        "submitted_column",
        "opt_out_deadline_column",
        "review_due_column",
        "assigned_column",
        "contested_column",
    )
    list_display_links = ("id", "name")
    list_filter = (
        AssignedFilter,
        "status",
        "solution_area",
        "activity",
        OverdueFilter,
        ContestedFilter,
        CustomerNoticeFilter,
        StuckInSubmittedFilter,
    )
    # The desk: the claim due soonest first, those without a due date (not yet in review) last.
    ordering = (F("review_due_at").asc(nulls_last=True), "-id")
    search_fields = ("name", "domain", "partner__name", "=partner__partner_id", "=mpn__mpn_id")
    search_help_text = _("Claim ID, name, domain, tenant ID (any case), partner name or ID, MPN ID.")
    list_per_page = 50
    # At a million claims, counting them all is the slow part of the list: no full count, and
    # the filtered count stops at 10,001 like the partner's list (selectors.CappedPaginator).
    show_full_result_count = False
    paginator = CappedPaginator
    fieldsets = (
        (_("Claim"), {"fields": ("name", "status", "rejection_reason", "validation_problems")}),
        (_("Partner"), {"fields": ("partner", "mpn", "created_by")}),
        (
            _("Customer"),
            {"fields": ("tenant", "tenant_guid", "domain", "solution_area", "activity")},
        ),
        (
            _("Revenue association"),
            {"fields": ("solution_seller_name", "customer_name", "isv_solution_name")},
        ),
        (
            _("Contacts"),
            {
                "fields": (
                    ("customer_contact_name", "customer_contact_title", "customer_contact_email"),
                    ("technical_contact_name", "technical_contact_title", "technical_contact_email"),
                    ("partner_contact_name", "partner_contact_email"),
                )
            },
        ),
        (
            _("Dates"),
            {
                "fields": (
                    "created_column",
                    "submitted_column",
                    "notified_column",
                    "opt_out_deadline_column",
                    "review_due_column",
                    "decided_column",
                    "updated_column",
                )
            },
        ),
        (
            _("After the decision"),
            {
                "fields": (
                    "response_due_column",
                    ("disputed_column", "dispute_answer_due_column", "dispute_final"),
                    ("disassociated_column", "disassociated_by", "disassociation_reason"),
                )
            },
        ),
    )
    # Every moment names its zone: the customer's for what its business days set, the
    # reader's (UTC: users have none of their own) for what happened.
    created_column = moment_column("created_at", _("created"))
    submitted_column = moment_column("submitted_at", _("submitted"))
    notified_column = moment_column("notified_at", _("customer notified"))
    opt_out_deadline_column = moment_column("opt_out_deadline", _("opt-out deadline"), customers=True)
    decided_column = moment_column("decided_at", _("decided"))
    updated_column = moment_column("updated_at", _("updated"))
    response_due_column = moment_column("response_due_at", _("answer due"), customers=True)
    disputed_column = moment_column("disputed_at", _("disputed"))
    dispute_answer_due_column = moment_column("dispute_answer_due_at", _("dispute answer due"), customers=True)
    disassociated_column = moment_column("disassociated_at", _("disassociated"))
    # Reviewers never edit a claim's data: every field the page shows is read-only.
    readonly_fields = flatten_fieldsets(fieldsets)

    def get_queryset(self, request):
        # `is_mine`: the assigned column says "Me" (the admin is shared by every request).
        return reads.claims_for_review(reviewer=request.user).annotate(
            is_mine=Case(When(assigned_to=request.user.pk, then=Value(True)), default=Value(False))
        )

    def get_search_results(self, request, queryset, search_term):
        """Each word of the search (or quoted phrase) is part of a name or domain, a partner's
        name or ID or an MPN ID; the whole term may also be a claim ID ("42" or "#42") or a
        tenant GUID in any case.

        Partners and MPN IDs are looked up first, in their own small tables, so that the claims
        query is one OR of indexed conditions on the claims table (pg_trgm on name and domain,
        partner, MPN ID, primary key, tenant GUID) rather than an OR across joined tables that
        reads every claim."""
        term = search_term.strip()
        if not term:
            return queryset, False
        matches = Q()
        for word in smart_split(term):
            if word[:1] in ('"', "'") and word[0] == word[-1]:
                word = unescape_string_literal(word)
            partners = Partner.objects.filter(Q(name__icontains=word) | Q(partner_id=word))
            mpns = MpnId.objects.filter(mpn_id=word)
            matches &= (
                Q(name__icontains=word)
                | Q(domain__icontains=word)
                | Q(partner_id__in=list(partners.values_list("pk", flat=True)))
                | Q(mpn_id__in=list(mpns.values_list("pk", flat=True)))
            )
        digits = term.lstrip("#")
        if digits.isascii() and digits.isdigit() and len(digits) <= 18:  # int("¹") fails; a pk fits a bigint
            matches |= Q(pk=int(digits))
        guid = parse_guid(term)
        if guid is not None:
            matches |= Q(tenant_guid=guid)
        return queryset.filter(matches), False

    # Columns.

    @admin.display(description=_("partner"), ordering="partner__name")
    def partner_column(self, claim):
        return f"{claim.partner.name} ({claim.partner.partner_id})"

    @admin.display(description=_("MPN ID"), ordering="mpn__mpn_id")
    def mpn_column(self, claim):
        return claim.mpn.mpn_id

    @admin.display(description=_("tenant"), ordering="tenant__name")
    def tenant_column(self, claim):
        name = claim.tenant.name if claim.tenant else "—"
        return format_html("{}<br><small>{}</small>", name, claim.tenant_guid)

    @admin.display(description=_("review due"), ordering="review_due_at")
    def review_due_column(self, claim):
        if claim.review_due_at is None:
            return "—"
        # Due at the end of one of the customer's business days, like the opt-out deadline.
        due = presentation.format_moment(
            claim.review_due_at, time_zone=claim.tenant.time_zone if claim.tenant else None
        )
        if reads.is_review_overdue(claim):
            return format_html('{} <strong class="review-overdue" style="color:#ba2121">{}</strong>', due, _("Overdue"))
        return due

    @admin.display(description=_("assigned to"), ordering="assigned_to__email")
    def assigned_column(self, claim):
        if claim.assigned_to_id is None:
            return "—"
        if getattr(claim, "is_mine", False):
            return format_html('<strong class="assigned-mine">{}</strong>', _("Me"))
        return claim.assigned_to.get_full_name() or claim.assigned_to.email

    @admin.display(description=_("contested"), boolean=True, ordering="has_contested")
    def contested_column(self, claim):
        return getattr(claim, "has_contested", False)

    @admin.display(description=_("validation problems"))
    def validation_problems(self, claim):
        problems = presentation.validation_messages(claim)
        if not problems:
            return "—"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((problem,) for problem in problems)))

    # The claim's page: read-only fields, then items, PoE, comments, History and actions.

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if self.has_view_permission(request):
            claim = self.get_object(request, unquote(object_id))
            if claim is not None:
                extra_context = {**(extra_context or {}), **self._review_context(claim)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _review_context(self, claim: Claim) -> dict:
        items = list(claim.items.select_related("product", "subscription", "workload"))
        for item in items:
            item.claim = claim  # already loaded: `is_decidable` reads it
            item.can_arbitrate = reads.Arbitration.is_decidable(item)
        events = claim.events.select_related("actor").order_by("created_at", "id")
        notices = list(claim.customer_emails.order_by("id"))
        return {
            "claim": claim,
            "review_overdue": reads.is_review_overdue(claim),
            "stuck_in_submitted": reads.is_stuck_in_submitted(claim),
            "can_take": claim.status in REVIEW_STATUSES,
            "items": items,
            "proofs": claim.proofs.select_related("uploaded_by").order_by("uploaded_at", "id"),
            "customer_notices": notices,
            "customer_not_notified": claim.status in REVIEW_STATUSES
            and any(notice.sent_at is None for notice in notices),
            "comments": claim.comments.select_related("author").order_by("created_at", "id"),
            "history": [
                {
                    "event": event,
                    "label": presentation.event_label(event.action),
                    "from_label": presentation.status_label(event.from_status) if event.from_status else "",
                    "to_label": presentation.status_label(event.to_status) if event.to_status else "",
                    "internal": bool((event.data or {}).get("internal")),
                }
                for event in events
            ],
            "comment_form": ReviewerCommentForm(auto_id="id_comment_%s"),
            "note_form": ReviewerCommentForm(auto_id="id_note_%s"),
            "request_form": RequestInformationForm(auto_id="id_request_%s")
            if claim.status == ClaimStatus.UNDER_REVIEW
            else None,
            "reject_form": RejectForm(auto_id="id_reject_%s") if claim.status in REVIEW_STATUSES else None,
            "dispute_form": DisputeAnswerForm(auto_id="id_dispute_%s")
            if claim.status == ClaimStatus.DISPUTED
            else None,
        }

    # Reviewer views.

    def get_urls(self):
        def reviewer_view(view, post_only=False):
            view = require_POST(view) if post_only else view
            return self.admin_site.admin_view(reviewer_required(view))

        return [
            *(
                path(
                    f"<int:claim_id>/{slug}/",
                    reviewer_view(partial(self.reviewer_action_view, actions=actions), True),
                    name=f"claims_claim_{slug.replace('-', '_')}",
                )
                for slug, actions in REVIEWER_ACTIONS.items()
            ),
            path("dashboard/", reviewer_view(self.dashboard_view), name="claims_claim_dashboard"),
            path("items/<int:item_id>/arbitrate/", reviewer_view(self.arbitrate_view), name="claims_claim_arbitrate"),
            path("arbitrations/", reviewer_view(self.arbitration_queue_view), name="claims_claim_arbitration_queue"),
            path(
                "proofs/<int:proof_id>/download/",
                reviewer_view(self.proof_download_view),
                name="claims_claim_proof_download",
            ),
            *super().get_urls(),
        ]

    def _back(self, request, claim_id):
        """To the claim's page, or to the arbitration page the form was posted from."""
        target = request.POST.get("next", "")
        if target and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return HttpResponseRedirect(target)
        return HttpResponseRedirect(reverse("admin:claims_claim_change", args=[claim_id]))

    def reviewer_action_view(self, request, claim_id, actions):
        """One of the claim page's buttons (`REVIEWER_ACTIONS`): validate its form, call its
        service, turn a domain error into a message, go back."""
        action = actions.get(request.POST.get("decision"), actions[None])
        form = action.form(request.POST)
        if not form.is_valid():
            messages.error(request, _form_errors(form))
            return self._back(request, claim_id)
        try:
            action.service(reviewer=request.user, claim_id=claim_id, **form.cleaned_data, **action.arguments)
        except ClaimError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, action.success)
        return self._back(request, claim_id)

    def dashboard_view(self, request):
        """The reviewers' dashboard: what waits now, and the last twelve weeks as a chart and
        a table (claims.dashboard)."""
        desk = dashboard.desk_figures(reviewer=request.user)
        weeks = dashboard.weekly_figures(reviewer=request.user)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Reviewers' dashboard"),
            "desk": desk,
            "weeks": weeks,
            "decision_chart": dashboard.decision_time_chart(weeks),
            "opt_out_chart": dashboard.opt_out_share_chart(weeks),
        }
        return TemplateResponse(request, "admin/claims/claim/dashboard.html", context)

    def arbitrate_view(self, request, item_id):
        """Every claim on one item and programme side by side, and any legacy holder; POST
        decides one of them."""
        arbitration = reads.arbitration_for(reviewer=request.user, item_id=item_id)
        if request.method == "POST":
            form = DecideForm(request.POST)
            if not form.is_valid():
                messages.error(request, _form_errors(form))
                return HttpResponseRedirect(request.path)
            try:
                self._decide(request.user, item_id, arbitration, form.cleaned_data)
            except ClaimError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, _("Decision recorded; each partner is told in their claim's comments."))
            return HttpResponseRedirect(request.path)
        for entry in arbitration.claim_items:
            entry.can_decide = reads.Arbitration.is_decidable(entry)
            entry.can_approve = arbitration.can_approve(entry)
            entry.window_closed = reads.opt_out_window_closed(entry.claim)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Competing claims: %(item)s, %(program)s")
            % {"item": arbitration.label, "program": arbitration.program},
            "arbitration": arbitration,
            "item_claim": arbitration.item.claim,
        }
        return TemplateResponse(request, "admin/claims/claim/arbitrate.html", context)

    @staticmethod
    def _decide(reviewer, item_id, arbitration, data):
        """Call the one service the decision names; what is not on this page is not found."""
        if data["legacy"] is not None:
            if data["legacy"] not in {association.pk for association in arbitration.legacy}:
                raise Http404
            return review.legacy_holder_approve(
                reviewer=reviewer, item_id=item_id, legacy_id=data["legacy"], rationale=data["note"]
            )
        if data["item"] not in {entry.pk for entry in arbitration.claim_items}:
            raise Http404
        return review.item_decide(
            reviewer=reviewer, item_id=data["item"], approve=data["decision"] == DecideForm.APPROVE, note=data["note"]
        )

    def arbitration_queue_view(self, request):
        """The items in arbitration, oldest first, each linked to its comparison page."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Items in arbitration"),
            "queue": reads.arbitration_queue(reviewer=request.user),
        }
        return TemplateResponse(request, "admin/claims/claim/arbitration_queue.html", context)

    def proof_download_view(self, request, proof_id):
        """A PoE file, as an attachment under the name it was uploaded with (never inline:
        what the partner uploaded must not run in the admin's origin)."""
        proof = reads.proof_for_review(reviewer=request.user, proof_id=proof_id)
        try:
            handle = proof.file.open("rb")
        except FileNotFoundError as missing:
            raise Http404 from missing
        response = FileResponse(
            handle, as_attachment=True, filename=proof.original_name, content_type=proof.content_type
        )
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, no-store"
        return response


# --- Audit lists -------------------------------------------------------------------------------------------


class OfClaimAdmin(ReviewerOnlyMixin, admin.ModelAdmin):
    """A list of rows that each belong to a claim (its events, comments, customer emails):
    the rows reviewers may see, each linked to its claim's page."""

    def get_queryset(self, request):
        return super().get_queryset(request).seen_by_reviewers()

    @admin.display(description=_("claim"), ordering="claim_id")
    def claim_link(self, row):
        return format_html('<a href="{}">{}</a>', reverse("admin:claims_claim_change", args=[row.claim_id]), row.claim)


@admin.register(ClaimEvent)
class ClaimEventAdmin(OfClaimAdmin):
    """The append-only history of every claim, for audit."""

    list_display = ("time_column", "claim_link", "action", "actor", "from_status", "to_status", "internal", "reason")
    list_filter = ("action",)
    search_fields = ("=claim__id", "action", "actor__email")
    list_select_related = ("claim", "actor")
    show_full_result_count = False
    fields = ("claim", "action", "actor", "from_status", "to_status", "reason", "data", "time_column")
    readonly_fields = fields
    time_column = moment_column("created_at", _("time"))

    @admin.display(description=_("internal"), boolean=True)
    def internal(self, event):
        return bool((event.data or {}).get("internal"))


@admin.register(Comment)
class CommentAdmin(OfClaimAdmin):
    """Every comment and internal note, for audit."""

    list_display = ("time_column", "claim_link", "author", "is_internal", "short_body")
    list_filter = ("is_internal",)
    search_fields = ("=claim__id", "body", "author__email")
    list_select_related = ("claim", "author")
    show_full_result_count = False
    fields = ("claim", "author", "is_internal", "body", "time_column")
    readonly_fields = fields
    time_column = moment_column("created_at", _("time"))

    @admin.display(description=_("comment"))
    def short_body(self, comment):
        return comment.body if len(comment.body) <= 120 else f"{comment.body[:117]}…"


@admin.register(CustomerEmail)
class CustomerEmailAdmin(OutboxAdminMixin, OfClaimAdmin):
    """The customer notices' outbox: what went out, what waits, what failed and why."""

    list_display = ("created_at", "claim_link", "recipient", "role", *OutboxAdminMixin.OUTBOX_COLUMNS)
    list_filter = (OutboxStateFilter, "role")
    search_fields = ("=claim__id", "recipient")
    list_select_related = ("claim",)
    fields = readonly_fields = ("claim", "recipient", "role", *OutboxAdminMixin.OUTBOX_FIELDS)
