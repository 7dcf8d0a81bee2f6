"""Reads of claims for partner users. Every query here is scoped to the user's partner;
anything outside it, or missing, is the same 404 ("the error is the same for objects you
can't access and objects that don't exist").

The reviewers' reads (their list, the arbitration queue and comparison, and the competing
items the review services act on) are in `claims.selectors.review`.
"""

from __future__ import annotations

import re
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from itertools import islice

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Count, F, Prefetch, Q, QuerySet, Value
from django.db.models.functions import StrIndex, Upper
from django.db.models.lookups import GreaterThan
from django.http import Http404
from django.utils.functional import cached_property

from cpor import access
from cpor.models import MpnId
from tenants.models import SolutionArea

from .. import validation
from ..models import Claim, ClaimEvent, ClaimItem, ClaimStatus, Comment, ProofOfExecution

# Column sort: the name a URL uses -> the ordering, always ending with the primary key so
# that pages never overlap.
SORTS = {
    "id": ("id",),
    "name": ("name", "id"),
    # The tenant's name, copied onto the claim by the database; customers of one name apart.
    "customer": ("tenant_name", "tenant", "id"),
    "domain": ("domain", "id"),
    "solution_area": ("solution_area", "id"),
    "activity": ("activity", "id"),
    "status": ("status", "id"),
    "created": ("created_at", "id"),
    "submitted": ("submitted_at", "id"),
}
DEFAULT_SORT = "-created"


@dataclass(frozen=True)
class ClaimFilters:
    q: str = ""
    status: str = ""
    solution_area: str = ""
    activity: str = ""
    mpn: str = ""
    sort: str = DEFAULT_SORT


def _partner_or_404(user):
    partner = access.partner_of(user)
    if partner is None:
        raise Http404
    return partner


def _items_prefetch():
    return Prefetch(
        "items",
        queryset=ClaimItem.objects.select_related("product", "subscription", "workload").order_by("id"),
    )


def claim_list_visible_to(user, filters: ClaimFilters | None = None) -> QuerySet[Claim]:
    """The user's partner's claims, filtered, searched and sorted, with what a list row shows.

    A page costs a constant number of queries: the claims with their MPN ID and tenant in
    one, their items in a second, whatever the number of claims.
    """
    filters = filters or ClaimFilters()
    claims = _claims_matching(user, filters)
    return claims.select_related("mpn", "tenant").prefetch_related(_items_prefetch()).order_by(*_ordering(filters.sort))


def _claims_matching(user, filters: ClaimFilters) -> QuerySet[Claim]:
    """The partner's claims that the filters and the search match, unsorted and without joins."""
    partner = access.partner_of(user)
    if partner is None:
        return Claim.objects.none()
    claims = Claim.objects.filter(partner=partner)
    if filters.status:
        claims = claims.filter(status=filters.status)
    if filters.solution_area:
        claims = claims.filter(solution_area=filters.solution_area)
    if filters.activity:
        claims = claims.filter(activity=filters.activity)
    if filters.mpn:
        claims = claims.filter(mpn__mpn_id=filters.mpn)
    if filters.q:
        claims = claims.filter(_search(filters.q))
    return claims


# What a row of the Customer associations page shows of its claim.
LIST_ROW_FIELDS = (
    "name",
    "domain",
    "tenant_id",
    "tenant_name",
    "solution_area",
    "activity",
    "status",
    "created_at",
    "submitted_at",
)


def claim_list_page(user, filters: ClaimFilters, page_number, per_page: int = 50):
    """A page of the Customer associations list (claim_list_visible_to's claims), counted up
    to CappedPaginator.cap on the matching claims alone.

    A row's claim has only the columns a row shows (the customer's name is the claim's own
    copy, `tenant_name`), and its MPN ID read by the same query as `mpn_number` rather than
    as an MPN ID object: building three objects a row was a sixth of the page's time. Its items are
    claim_item_labels'."""
    matching = _claims_matching(user, filters)
    rows = matching.only(*LIST_ROW_FIELDS).annotate(mpn_number=F("mpn__mpn_id")).order_by(*_ordering(filters.sort))
    paginator = CappedPaginator(rows, per_page, counted=matching)
    narrowed = filters.q or filters.status or filters.solution_area or filters.activity or filters.mpn
    if narrowed and page_number in (None, "", "1"):
        # A search or a filter often matches less than a page: its first page is read first,
        # one row more than a page, and when the matches fit on it their number is its length;
        # counting them would run the search a second time.
        first = list(rows[: per_page + 1])
        if len(first) <= per_page:
            paginator.count = len(first)
        return Page(first[:per_page], 1, paginator)
    return paginator.get_page(page_number)


def _search(text: str) -> Q:
    """What the search box finds, by the shape of what was typed:

    - a number (or #number) is a claim ID;
    - a GUID is a Directory ID / Tenant ID;
    - anything else is part of a claim's name or domain.

    The first two use an index whatever the number of claims; the third, the trigram indexes
    on name and domain (claims migration 0005), see _part_of_a_name_or_domain.
    """
    text = text.strip()
    digits = text.lstrip("#")
    if digits.isascii() and digits.isdigit():  # "¹" is a digit to str.isdigit, not to int()
        return Q(pk=int(digits)) if len(digits) <= 18 else Q(pk__in=[])  # a claim ID fits a bigint
    guid = validation.parse_guid(text)
    if guid is not None:
        # A claim's tenant is the directory match of its tenant ID, so look the GUID up
        # through the tenants' unique index rather than scan the claims for it.
        return Q(tenant__tenant_id=guid)
    return _part_of_a_name_or_domain(text)


def _part_of_a_name_or_domain(text: str) -> Q:
    """Claims whose name or domain holds `text`, whatever its case.

    The trigram indexes find the claims holding every trigram of what is looked up, and a
    common word costs them as many entries as there are claims holding it: "rikam-223fcd-101"
    read some 100,000 entries for the "rikam" of every Fabrikam (15 ms at a million claims),
    "223fcd" alone a handful (0.2 ms). So text of several words is looked up in the indexes by
    its longest word only, and the claims found must then hold the whole text, a test the
    indexes are not asked to run (a position in the text, not a LIKE they would answer)."""
    words = re.findall(r"\w+", text)
    longest = max(words, key=len, default="")
    if len(longest) < 3 or len(longest) == len(text):  # no trigram to narrow on, or one word
        return Q(name__icontains=text) | Q(domain__icontains=text.lower())
    narrowed = Q(name__icontains=longest) | Q(domain__icontains=longest.lower())
    whole = Upper(Value(text))
    holds = Q(GreaterThan(StrIndex(Upper("name"), whole), 0)) | Q(
        GreaterThan(StrIndex(Upper("domain"), Upper(Value(text.lower()))), 0)
    )
    return narrowed & holds


def _ordering(sort: str) -> tuple[str, ...]:
    descending = sort.startswith("-")
    columns = SORTS.get(sort.lstrip("-")) or SORTS[DEFAULT_SORT.lstrip("-")]
    if sort.lstrip("-") not in SORTS:
        descending = True
    return tuple(f"-{column}" if descending else column for column in columns)


class CappedPaginator(Paginator):
    """A paginator whose count stops at `cap`: counting every row of a partner with hundreds
    of thousands of claims is the slow part of a page, and nobody pages that far. Past the
    cap the page says "more than" and the partner narrows the search."""

    cap = 10_000

    def __init__(self, object_list, per_page, *args, counted=None, **kwargs):
        """`counted`: the same rows without the joins that only their display needs, counted
        instead of `object_list` (a count keeps an annotation's joins)."""
        super().__init__(object_list, per_page, *args, **kwargs)
        self.counted = object_list if counted is None else counted

    @cached_property
    def count(self):
        # Without the ordering: the count is the same, and sorting by a joined column (the
        # customer's name) would otherwise sort every claim of the partner just to count them.
        return self.counted.order_by().values("pk")[: self.cap + 1].count()

    @property
    def is_capped(self) -> bool:
        return self.count > self.cap


EXPORT_FIELDS = (
    "pk",
    "name",
    "mpn__mpn_id",
    "tenant__name",
    "domain",
    "tenant_guid",
    "solution_area",
    "activity",
    "status",
    "created_at",
    "submitted_at",
    "opt_out_deadline",
)


def claim_export_rows(claims: QuerySet[Claim], chunk_size: int = 2000):
    """The rows of the CSV export, a chunk at a time: each claim's plain values, and its items
    as {label: [(programme, outcome), ...]}. Plain values rather than model instances, and one
    items query per chunk, so that exporting every claim of a large partner stays linear and
    cheap (see bench/bench_claims_list.py)."""
    rows = claims.prefetch_related(None).values(*EXPORT_FIELDS).iterator(chunk_size=chunk_size)
    while chunk := list(islice(rows, chunk_size)):
        items: dict[int, dict[str, list]] = {}
        lines = (
            ClaimItem.objects.filter(claim_id__in=[row["pk"] for row in chunk])
            .order_by("id")
            .values_list(
                "claim_id", "program", "outcome", "product__name", "subscription__subscription_id", "workload__name"
            )
        )
        for claim_id, program, outcome, product, subscription, workload in lines:
            label = workload or f"{product} ({subscription})"
            items.setdefault(claim_id, {}).setdefault(label, []).append((program, outcome))
        for row in chunk:
            yield row, items.get(row["pk"], {})


# claim_item_labels' statement, written out: the ORM took three times PostgreSQL's own time
# to put its joins together, on every page of the list.
ITEM_LABELS_SQL = """
    SELECT item.claim_id, item.item_key, workload.name, product.name, subscription.subscription_id
    FROM claims_claimitem item
    JOIN tenants_product product ON product.id = item.product_id
    LEFT JOIN tenants_workload workload ON workload.id = item.workload_id
    LEFT JOIN tenants_subscription subscription ON subscription.id = item.subscription_id
    WHERE item.claim_id IN ({claims})
    ORDER BY item.id
"""


def claim_item_labels(claim_ids) -> dict[int, list[tuple[str, str]]]:
    """What each claim claims, one (name, subscription ID or "") per subscription or workload,
    in item order (the list shows labels only: no model instances, no prefetch)."""
    claim_ids = [int(pk) for pk in claim_ids]
    if not claim_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(ITEM_LABELS_SQL.format(claims=", ".join(["%s"] * len(claim_ids))), claim_ids)
        lines = cursor.fetchall()
    labels: dict[int, dict[str, tuple[str, str]]] = {}
    for claim_id, key, workload, product, subscription in lines:
        # An item is a workload or a subscription (claim_item_subscription_xor_workload). SQLite
        # gives a GUID back as 32 hex digits; it is shown, as everywhere, with its hyphens.
        label = (workload, "") if workload else (product, str(uuid.UUID(str(subscription))))
        labels.setdefault(claim_id, {}).setdefault(key, label)
    return {claim_id: list(by_key.values()) for claim_id, by_key in labels.items()}


@dataclass(frozen=True)
class UncountedPage:
    """A page of a list whose total is never counted: its rows and whether more follow. For
    lists whose count costs more than the page itself (Usage joins six tables)."""

    object_list: list
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


def uncounted_page(rows: QuerySet, page_number, per_page: int = 50) -> UncountedPage:
    """Page `page_number` (1 for anything that is not a positive number) of `rows`, read with
    one row more than a page to know whether another page follows."""
    try:
        number = max(int(page_number), 1)
    except (TypeError, ValueError):
        number = 1
    offset = (number - 1) * per_page
    chunk = list(rows[offset : offset + per_page + 1])
    return UncountedPage(object_list=chunk[:per_page], number=number, has_next=len(chunk) > per_page)


def claim_page(claims: QuerySet[Claim], page_number, per_page: int = 50):
    return CappedPaginator(claims, per_page).get_page(page_number)


def claim_get_for_user(user, pk) -> Claim:
    """One claim of the user's partner; 404 for another partner's claim and a missing one alike."""
    partner = _partner_or_404(user)
    try:
        # get() rather than filter().first(): the primary key names one claim, and first()
        # would build an ORDER BY and a LIMIT for it on every claim page.
        claim = (
            Claim.objects.select_related("mpn", "tenant")
            .prefetch_related(_items_prefetch())
            .get(pk=pk, partner=partner)
        )
    except Claim.DoesNotExist:
        raise Http404 from None
    claim.partner = partner  # the user's own, already read with the membership
    return claim


def poe_get_for_user(user, pk) -> ProofOfExecution:
    partner = _partner_or_404(user)
    proof = ProofOfExecution.objects.filter(pk=pk, claim__partner=partner).first()
    if proof is None:
        raise Http404
    return proof


def claim_items_grouped(claim: Claim) -> list[dict]:
    """A claim's items, one entry per thing claimed (subscription or workload), with each
    programme's outcome: a Usage and Pre-sales claim has two rows per subscription."""
    groups: OrderedDict[str, dict] = OrderedDict()
    for item in claim.items.all():
        group = groups.setdefault(
            item.item_key,
            {"label": item.label, "subscription": item.subscription, "workload": item.workload, "lines": []},
        )
        group["lines"].append(item)
    return list(groups.values())


def claim_events_visible_to(user, claim: Claim) -> QuerySet[ClaimEvent]:
    """The History as this user may read it: every event, except that a partner never sees
    the events of reviewers' internal notes (`data.internal`, see claims.review)."""
    events = claim.events.select_related("actor").order_by("created_at", "id")
    if not access.is_reviewer(user):
        # has_key keeps the events without the key (a bare `data__internal=True` compares NULL).
        events = events.exclude(Q(data__has_key="internal") & Q(data__internal=True))
    return events


def comments_visible_to(user, claim: Claim) -> QuerySet[Comment]:
    """The comments thread as this user may read it: a partner never sees reviewers'
    internal notes."""
    comments = claim.comments.select_related("author").order_by("created_at", "id")
    if not access.is_reviewer(user):
        comments = comments.filter(is_internal=False)
    return comments


def claim_proofs(claim: Claim) -> QuerySet[ProofOfExecution]:
    return claim.proofs.order_by("uploaded_at", "id")


def mpn_ids_of(user) -> QuerySet[MpnId]:
    partner = access.partner_of(user)
    if partner is None:
        return MpnId.objects.none()
    return MpnId.objects.filter(partner=partner).order_by("mpn_id")


def claim_status_counts(user) -> dict[str, int]:
    """How many of the partner's claims are in each status, in one grouped query."""
    partner = access.partner_of(user)
    counts = dict.fromkeys(ClaimStatus.values, 0)
    if partner is None:
        return counts
    # COUNT(*), not COUNT(id): the (partner, status) index alone answers it, without reading
    # the partner's claims themselves (8 ms instead of 2-3 ms for 10,000 claims).
    rows = Claim.objects.filter(partner=partner).order_by().values("status").annotate(n=Count("*"))
    for row in rows:
        counts[row["status"]] = row["n"]
    return counts


# --- Early feedback on the products / workloads page -------------------------------------


@dataclass
class ItemOption:
    """One product or workload the partner may pick, with what the directory already says
    about it: errors stop the partner, a competing claim is only announced."""

    pk: int
    name: str
    subscription_count: int = 0
    problems: list = field(default_factory=list)
    competing: bool = False
    own: bool = False
    subscriptions: list = field(default_factory=list)

    @property
    def needs_subscription_id(self) -> bool:
        return self.subscription_count > 1


def product_options_for(claim: Claim) -> list[ItemOption]:
    """The Business Applications products of the tenant's subscriptions. When the tenant
    holds exactly one subscription to a product, its problems and competition are known
    before the partner picks it; with several, the partner names one by its ID."""
    tenant = claim.tenant
    if tenant is None or claim.solution_area != SolutionArea.BUSINESS_APPLICATIONS:
        return []
    subscriptions = list(
        tenant.subscriptions.select_related("product")
        .filter(product__solution_area=SolutionArea.BUSINESS_APPLICATIONS)
        .order_by("product__name", "start_date")
    )
    options: OrderedDict[int, ItemOption] = OrderedDict()
    for subscription in subscriptions:
        option = options.setdefault(
            subscription.product_id,
            ItemOption(pk=subscription.product_id, name=subscription.product.name),
        )
        option.subscription_count += 1
        option.subscriptions.append(subscription)
    for option in options.values():
        if option.subscription_count != 1:
            continue
        subscription = option.subscriptions[0]
        option.problems = validation.subscription_problems(subscription, subscription.product)
        key = ClaimItem.key_for_subscription(subscription)
        for program in claim.programs:
            _mark_holders(option, claim, key, program, subscription)
    return list(options.values())


def workload_options_for(claim: Claim) -> list[ItemOption]:
    """The workloads of the tenant's live Microsoft 365 subscriptions."""
    tenant = claim.tenant
    if tenant is None or claim.solution_area != SolutionArea.MICROSOFT_365:
        return []
    options = []
    for workload in validation.tenant_workloads(tenant).order_by("name"):
        option = ItemOption(pk=workload.pk, name=workload.name)
        key = ClaimItem.key_for_workload(tenant, workload)
        for program in claim.programs:
            _mark_holders(option, claim, key, program, None)
        options.append(option)
    return options


def _mark_holders(option: ItemOption, claim: Claim, key: str, program: str, subscription) -> None:
    if validation.held_by_own_partner(partner=claim.partner, item_key=key, program=program, exclude_claim_id=claim.pk):
        option.own = True
    elif validation.claim_competes(claim, item_key=key, program=program, subscription=subscription):
        option.competing = True


def claim_competing_labels(claim: Claim) -> list[str]:
    """The draft's items another partner holds or claims (shown as a warning, never naming it).
    `claim` as claim_get_for_user returns it: its items already read, with what they name."""
    labels = []
    for item in claim.items.all():
        if validation.claim_competes(
            claim, item_key=item.item_key, program=item.program, subscription=item.subscription
        ):
            labels.append(item.label)
    return list(dict.fromkeys(labels))
