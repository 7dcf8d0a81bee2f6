"""The partner REST API, mounted at /api/v1/ (namespace "api").

Thin views, like the site's: the key's role is checked (api.permissions), reads go through
the claims selectors (another partner's claim is 404, exactly like a missing one), input is
validated by the site's own forms and every write calls the service the site calls, so
the checks, the messages (in the key owner's language) and the History events are the
site's. Errors:

- 400: `{field: [messages], "non_field_errors": [messages]}`, nothing changed;
- 401: no key, an unknown or revoked key, or one whose creator may no longer act;
- 403: the key's role may not do this (only an Incentives admin key writes claims);
- 404: not one of your organisation's claims (or none at all);
- 429: the key's rate limit; `Retry-After` says when to try again.
"""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import Http404
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from claims import selectors, services, usage
from claims.forms import (
    AssociateStepForm,
    ClaimFilterForm,
    CommentForm,
    ContactsForm,
    DisassociateForm,
    DisputeForm,
    ItemsForm,
    ProofUploadForm,
    UsageFilterForm,
)
from claims.lifecycle import ClaimError
from claims.models import Activity, ClaimStatus
from claims.services import ClaimProblems
from claims.wizard import competing_message
from cpor import access
from tenants.models import SolutionArea

from . import payloads
from . import serializers as shapes
from .models import ApiKey

ERRORS = {
    400: OpenApiResponse(shapes.FieldErrorsSerializer, description="Bad input: each field's messages."),
    401: OpenApiResponse(shapes.ErrorSerializer, description="No key, or not a valid one."),
    403: OpenApiResponse(shapes.ErrorSerializer, description="The key's role may not do this."),
    404: OpenApiResponse(shapes.ErrorSerializer, description="Not one of your organisation's claims."),
    429: OpenApiResponse(shapes.ErrorSerializer, description="Rate limit: see Retry-After."),
}
READ_ERRORS = {code: ERRORS[code] for code in (401, 404, 429)}


def _responses(ok, *codes, ok_status=200) -> dict:
    return {ok_status: ok, **{code: ERRORS[code] for code in codes}}


def _changes_claim(operation_id: str, summary: str, description: str, request=None):
    """The OpenAPI operation of a write that answers with the claim as it now is."""
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        description=description,
        request=request,
        responses=_responses(shapes.ClaimDetailSerializer, 400, 401, 403, 404, 429),
    )


def _deletes(operation_id: str, summary: str, description: str):
    """The OpenAPI operation of a DELETE: nothing in answer (204)."""
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        description=description,
        responses=_responses(None, 400, 401, 403, 404, 429, ok_status=204),
    )


class PartnerApiView(APIView):
    """Every endpoint: a key of the partner; reads open to every role, writes to the roles
    that file claims. Answers in the key owner's language."""

    read_roles = None
    write_roles = access.FILE_CLAIMS

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # Claims carry customers' contact details: no shared cache keeps them.
        response.setdefault("Cache-Control", "private, no-store")
        return response

    def handle_exception(self, exc):
        # A service's refusal is bad input: 400 with its message, in the key owner's words.
        if isinstance(exc, ClaimError):
            exc = _claim_error(exc)
        return super().handle_exception(exc)

    def perform_authentication(self, request):
        super().perform_authentication(request)
        language = getattr(request.user, "language", None)
        if isinstance(request.auth, ApiKey) and language in dict(settings.LANGUAGES):
            translation.activate(language)
            request._request.LANGUAGE_CODE = language


# --- Errors, in the site's words ----------------------------------------------------------


def _form_errors(form: forms.Form, rename=lambda name: name) -> ValidationError:
    errors: dict[str, list[str]] = {}
    for name, messages in form.errors.items():
        key = "non_field_errors" if name == NON_FIELD_ERRORS else rename(name)
        errors.setdefault(key, []).extend(str(message) for message in messages)
    return ValidationError(errors)


def _claim_error(error: ClaimError, field: str = "non_field_errors") -> ValidationError:
    if isinstance(error, ClaimProblems):
        return ValidationError({field: [problem.message for problem in error.problems]})
    return ValidationError({field: [str(error.message)]})


def _validated(form: forms.Form, rename=lambda name: name) -> forms.Form:
    if not form.is_valid():
        raise _form_errors(form, rename)
    return form


def _draft(user, pk):
    """The user's partner's claim (404 otherwise), which must still be a draft."""
    claim = selectors.claim_get_for_user(user, pk)
    if claim.status != ClaimStatus.DRAFT:
        raise ValidationError({"non_field_errors": [_("This claim has been submitted and can no longer be changed.")]})
    return claim


def _body(request) -> Mapping:
    """The request's fields; a JSON body that is not an object is refused like bad input."""
    if not isinstance(request.data, Mapping):
        message = drf_serializers.Serializer.default_error_messages["invalid"]
        raise ValidationError({"non_field_errors": [str(message).format(datatype=type(request.data).__name__)]})
    return request.data


def _as_form_value(value):
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return [_as_form_value(item) for item in value]
    return value if isinstance(value, str) else str(value)


def _detail(request, pk, **extra) -> dict:
    claim = selectors.claim_get_for_user(request.user, pk)
    return shapes.ClaimDetailSerializer({**payloads.claim_detail(request.user, claim), **extra}).data


# --- The site's forms, with every field visible (the wizard carries some as hidden fields,
# whose errors it repeats at the top of the page; an API names the field once) -----------


class DraftForm(AssociateStepForm):
    hidden_fields = ()


class ApiItemsForm(ItemsForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant_id"].widget = forms.TextInput()


# --- Claims ---------------------------------------------------------------------------------


class ClaimCursorPagination(CursorPagination):
    """Newest first, by a cursor: stable while claims are added, and as fast on the
    thousandth page as on the first (the claims' (partner, -created_at, -id) index)."""

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


ClaimPage = inline_serializer(
    "ClaimPage",
    {
        "next": drf_serializers.URLField(allow_null=True),
        "previous": drf_serializers.URLField(allow_null=True),
        "results": shapes.ClaimSummarySerializer(many=True),
    },
)


class ClaimListCreate(PartnerApiView):
    @extend_schema(
        operation_id="claims_list",
        summary="List your organisation's claims",
        description="The site's filters and search, newest first, by pages of a cursor (follow `next`).",
        parameters=[
            OpenApiParameter("q", str, description="A claim ID, a tenant ID (GUID), or part of a name or domain."),
            OpenApiParameter("status", str, enum=ClaimStatus.values),
            OpenApiParameter("solution_area", str, enum=SolutionArea.values),
            OpenApiParameter("activity", str, enum=Activity.values),
            OpenApiParameter("mpn", str, description="One of your MPN IDs."),
            OpenApiParameter("cursor", str, description="From `next` or `previous`."),
            OpenApiParameter("page_size", int, description="1 to 200; 50 by default."),
        ],
        responses=_responses(ClaimPage, 400, 401, 429),
    )
    def get(self, request):
        form = _validated(ClaimFilterForm(request.query_params, user=request.user))
        claims = selectors.claim_list_visible_to(request.user, form.filters())
        paginator = ClaimCursorPagination()
        page = paginator.paginate_queryset(claims, request, view=self)
        results = [shapes.ClaimSummarySerializer(payloads.claim_summary(claim)).data for claim in page]
        return paginator.get_paginated_response(results)

    @extend_schema(
        operation_id="claims_create",
        summary="Create a draft claim",
        description="The wizard's first three pages at once (MPN ID and customer, solution area and activity, "
        "Associate customer): **Create claim**. The claim exists as a Draft.",
        request=shapes.DraftCreateRequest,
        responses=_responses(shapes.ClaimDetailSerializer, 400, 401, 403, 429, ok_status=201),
    )
    def post(self, request):
        form = _draft_form(request)
        claim = services.claim_create_draft(user=request.user, start=form.claim_start())
        location = reverse("api:claim", args=[claim.pk])
        return Response(_detail(request, claim.pk), status=status.HTTP_201_CREATED, headers={"Location": location})


def _draft_form(request) -> DraftForm:
    """The Associate customer page's form, validated, on the request's fields."""
    data = {name: _as_form_value(value) for name, value in _body(request).items()}
    data["mpn"] = _mpn_pk(request.user, data.get("mpn", ""))
    return _validated(DraftForm(data, user=request.user))


def _mpn_pk(user, value) -> str:
    """The form picks an MPN ID by its row; the API names it by its MPN ID. One that isn't the
    partner's is passed on as no row, and the form says so in its own words."""
    if not value:
        return ""
    mpn = selectors.mpn_ids_of(user).filter(mpn_id=str(value).strip()).first()
    return str(mpn.pk) if mpn else "0"


class ClaimDetail(PartnerApiView):
    @extend_schema(
        operation_id="claims_retrieve",
        summary="A claim",
        description="Every field; status with what it means and what happens next; deadlines; items and their "
        "outcome; proof of execution; the comments your organisation may read; History.",
        responses=_responses(shapes.ClaimDetailSerializer, 401, 404, 429),
    )
    def get(self, request, pk):
        return Response(_detail(request, pk))

    @_changes_claim(
        "claims_update",
        "Change a draft's details",
        "The MPN ID, customer, solution area, activity and names, as when creating it. Changing the "
        "customer or the activity clears the products or workloads.",
        request=shapes.DraftCreateRequest,
    )
    def put(self, request, pk):
        claim = _draft(request.user, pk)
        form = _draft_form(request)
        services.claim_update_draft(user=request.user, claim_id=claim.pk, start=form.claim_start())
        return Response(_detail(request, claim.pk))

    @_deletes("claims_destroy", "Delete a draft", "Only a draft; a submitted claim is never deleted.")
    def delete(self, request, pk):
        claim = selectors.claim_get_for_user(request.user, pk)
        services.claim_delete_draft(user=request.user, claim_id=claim.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClaimItemOptions(PartnerApiView):
    @extend_schema(
        operation_id="claims_item_options",
        summary="Products or workloads a draft may claim",
        description="The customer tenant's Business Applications products or Microsoft 365 workloads, with what "
        "the directory already says about each (problems, competing claim, already yours).",
        responses=_responses(shapes.ItemOptionSerializer(many=True), 401, 404, 429),
    )
    def get(self, request, pk):
        claim = selectors.claim_get_for_user(request.user, pk)
        return Response(shapes.ItemOptionSerializer(payloads.item_options(claim), many=True).data)


class ClaimItems(PartnerApiView):
    @_changes_claim(
        "claims_items_set",
        "Set a draft's products or workloads",
        "Replaces the draft's items. An item another partner holds or claims is not an error: the "
        "answer's `warnings` say it goes to arbitration.",
        request=shapes.ItemsRequest,
    )
    def put(self, request, pk):
        claim = _draft(request.user, pk)
        business = claim.solution_area == SolutionArea.BUSINESS_APPLICATIONS
        options = selectors.product_options_for(claim) if business else selectors.workload_options_for(claim)
        body = _body(request)
        items = body.get("items")
        data = {
            "tenant_id": _as_form_value(body.get("tenant_id") or claim.tenant_guid),
            "items": _as_form_value(items if isinstance(items, list) else [] if items is None else [items]),
        }
        subscription_ids = body.get("subscription_ids") or {}
        if isinstance(subscription_ids, dict):
            data.update({f"subscription_{key}": _as_form_value(value) for key, value in subscription_ids.items()})
        form = ApiItemsForm(data, claim=claim, options=options)
        _validated(form, rename=lambda name: "subscription_ids" if name.startswith("subscription_") else name)
        if business:
            competing = services.claim_set_items(user=request.user, claim_id=claim.pk, products=form.product_choices())
        else:
            competing = services.claim_set_items(user=request.user, claim_id=claim.pk, workload_ids=form.workload_ids())
        return Response(_detail(request, claim.pk, warnings=[competing_message(label) for label in competing]))


class ClaimContacts(PartnerApiView):
    @_changes_claim(
        "claims_contacts_set",
        "Set a draft's contacts",
        "The customer contact, for Business Applications (Dynamics 365) the customer's technical "
        "contact, and your company's contact. All fields are required.",
        request=shapes.ContactsRequest,
    )
    def put(self, request, pk):
        claim = _draft(request.user, pk)
        data = {name: _as_form_value(value) for name, value in _body(request).items()}
        form = _validated(ContactsForm(data, claim=claim))
        services.claim_set_contacts(user=request.user, claim_id=claim.pk, contacts=form.contacts())
        return Response(_detail(request, claim.pk))


class ClaimProofs(PartnerApiView):
    @extend_schema(
        operation_id="claims_proofs_create",
        summary="Upload proof of execution",
        description="To a draft, or after submission when a reviewer asked for more (Partner action required), "
        "which answers the request. PDF, DOCX, XLSX, PNG or JPEG, judged by content.",
        request={"multipart/form-data": shapes.ProofUploadRequest},
        responses=_responses(shapes.ProofSerializer(many=True), 400, 401, 403, 404, 429, ok_status=201),
    )
    def post(self, request, pk):
        claim = selectors.claim_get_for_user(request.user, pk)
        form = _validated(ProofUploadForm(request.data, request.FILES))
        if not form.cleaned_data["files"]:  # an empty list of files passes the field itself
            raise ValidationError({"files": [str(form.fields["files"].error_messages["required"])]})
        added = []
        for upload in form.cleaned_data["files"]:
            try:
                added.append(services.claim_add_poe(user=request.user, claim_id=claim.pk, upload=upload))
            except ClaimError as error:
                raise _claim_error(error, field="files") from None
        return Response(
            shapes.ProofSerializer([payloads.proof_payload(proof) for proof in added], many=True).data,
            status=status.HTTP_201_CREATED,
        )


class ClaimProof(PartnerApiView):
    @_deletes("claims_proofs_destroy", "Remove a draft's file", "Once submitted, proof of execution stays.")
    def delete(self, request, pk, proof_id):
        claim = selectors.claim_get_for_user(request.user, pk)
        services.claim_remove_poe(user=request.user, claim_id=claim.pk, proof_id=proof_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClaimComments(PartnerApiView):
    @extend_schema(
        operation_id="claims_comments_create",
        summary="Comment on a claim",
        description="On a draft or a submitted claim; when a reviewer asked for information, the comment answers "
        "it and the claim goes back to review.",
        request=shapes.CommentRequest,
        responses=_responses(shapes.CommentSerializer, 400, 401, 403, 404, 429, ok_status=201),
    )
    def post(self, request, pk):
        claim = selectors.claim_get_for_user(request.user, pk)
        form = _validated(CommentForm({"body": _as_form_value(_body(request).get("body"))}))
        comment = services.claim_add_comment(user=request.user, claim_id=claim.pk, body=form.cleaned_data["body"])
        return Response(shapes.CommentSerializer(payloads.comment_payload(comment)).data, status=201)


class ClaimAction(PartnerApiView):
    """A button of the claim's page, as a POST: the site's one-field form checks what the
    button asks for (`field`, if any), the site's service acts, and the answer is the claim as
    it now is. A subclass names the service and documents its POST."""

    form_class: type[forms.Form] | None = None
    field = ""

    @staticmethod
    def service(**kwargs):
        raise NotImplementedError

    def post(self, request, pk):
        claim = selectors.claim_get_for_user(request.user, pk)
        values = {}
        if self.form_class is not None:
            form = _validated(self.form_class({self.field: _as_form_value(_body(request).get(self.field))}))
            values[self.field] = form.cleaned_data[self.field]
        self.service(user=request.user, claim_id=claim.pk, **values)
        return Response(_detail(request, claim.pk))


@extend_schema_view(
    post=_changes_claim(
        "claims_submit",
        "Submit a claim",
        "**Submit claim**: the claim freezes and goes to validation in the background; follow its status. A claim "
        "submitted twice is told so, and changes nothing.",
    )
)
class ClaimSubmit(ClaimAction):
    service = staticmethod(services.claim_submit)


@extend_schema_view(
    post=_changes_claim(
        "claims_dispute",
        "Dispute a rejection",
        "Once, within 30 days of the rejection, with a justification (posted as a comment). The claim becomes "
        "Disputed; reviewers answer within five business days. A second dispute, a late one or one on a claim that is "
        "not rejected is refused and changes nothing.",
        request=shapes.DisputeRequest,
    )
)
class ClaimDispute(ClaimAction):
    form_class, field = DisputeForm, "justification"
    service = staticmethod(services.claim_dispute)


@extend_schema_view(
    post=_changes_claim(
        "claims_disassociate",
        "Disassociate the customer",
        "On an approved claim, with a reason: its items end and are free for other partners, usage data stops, the "
        "customer's contacts are emailed. Any other status is refused and nothing changes.",
        request=shapes.DisassociateRequest,
    )
)
class ClaimDisassociate(ClaimAction):
    form_class, field = DisassociateForm, "reason"
    service = staticmethod(services.claim_disassociate)


# --- Usage and MPN IDs ---------------------------------------------------------------------


class UsagePagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500


UsagePage = inline_serializer(
    "UsagePage",
    {
        "count": drf_serializers.IntegerField(),
        "next": drf_serializers.URLField(allow_null=True),
        "previous": drf_serializers.URLField(allow_null=True),
        "results": shapes.UsageRowSerializer(many=True),
    },
)


class UsageList(PartnerApiView):
    read_roles = access.VIEW_USAGE

    @extend_schema(
        operation_id="usage_list",
        summary="Usage data of approved associations",
        description="Each approved item's monthly usage, as on the site's Usage page and its CSV.",
        parameters=[
            OpenApiParameter("tenant", OpenApiTypes.UUID, description="A customer's tenant ID."),
            OpenApiParameter("month_from", str, description="YYYY-MM"),
            OpenApiParameter("month_to", str, description="YYYY-MM"),
            OpenApiParameter("claim", int, description="One of your claims."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="1 to 500; 100 by default."),
        ],
        responses=_responses(UsagePage, 400, 401, 403, 404, 429),
    )
    def get(self, request):
        raw_claim = request.query_params.get("claim", "")
        if raw_claim and not raw_claim.isdigit():
            raise Http404
        claim = selectors.claim_get_for_user(request.user, int(raw_claim)) if raw_claim else None
        form = _validated(UsageFilterForm(request.query_params, user=request.user))
        rows = usage.usage_rows_visible_to(request.user, form.filters(claim))
        paginator = UsagePagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        results = [
            {
                **row,
                "claim_id": row["claim_number"],
                "attribution_type": usage.attribution_type(row["attribution"]),
            }
            for row in page
        ]
        return paginator.get_paginated_response(shapes.UsageRowSerializer(results, many=True).data)


class MpnIdList(PartnerApiView):
    @extend_schema(
        operation_id="mpn_ids_list",
        summary="Your organisation's MPN IDs",
        description="With the incentive programmes each is enrolled in (an activity needs its programme).",
        responses=_responses(shapes.MpnIdSerializer(many=True), 401, 429),
    )
    def get(self, request):
        rows = [
            {"mpn_id": mpn.mpn_id, "location": mpn.location, "programs": mpn.programs}
            for mpn in selectors.mpn_ids_of(request.user)
        ]
        return Response(shapes.MpnIdSerializer(rows, many=True).data)
