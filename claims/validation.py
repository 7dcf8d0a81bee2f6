"""The checks of PRODUCT.md section 4, shared by the wizard (early feedback) and the
background validation (the one that counts).

Every check answers with `Problem`s: a stable code, stored on the claim, and a message in
the troubleshooting seed's words, rendered in the reader's language when shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cpor.models import User
from tenants.identifiers import normalise_domain, parse_guid
from tenants.models import (
    LIVE_SUBSCRIPTION_STATUSES,
    Channel,
    Domain,
    LegacyAssociation,
    Product,
    SolutionArea,
    Subscription,
    Tenant,
    Workload,
)

from .models import OPEN_STATUSES, ClaimItem, ItemOutcome

CHECK_WITH_CUSTOMER = _(
    "Work with your customer to ensure the subscription is correct and that you're using the correct tenant ID."
)

MESSAGES = {
    "domain_tenant_mismatch": _(
        "The domain name and the Directory ID / Tenant ID don't match. Contact your customer to ensure you "
        "have the correct details."
    ),
    "not_a_guid": _("The Directory ID / Tenant ID must be a GUID, such as 00000000-0000-0000-0000-000000000000."),
    "product_not_on_tenant": _("The product selected doesn't exist on the customer's tenant."),
    "subscription_required": _(
        "This product has several subscriptions on the customer's tenant: enter the subscription ID you are claiming."
    ),
    "not_a_subscription_id": _("The identifier provided isn't a subscription ID."),
    "subscription_not_on_tenant": _("The subscription provided doesn't belong to the customer's tenant."),
    "subscription_product_mismatch": _("The subscription provided isn't for the product selected."),
    "not_dynamics": _("The subscription provided isn't for Dynamics."),
    "csp": _("The subscription provided is for CSP."),
    "not_provisioned": _(
        "The customer hasn't yet activated/provisioned the products for that subscription. Contact your customer "
        "to ensure that it has been provisioned and the subscription you're claiming is correct."
    ),
    "subscription_not_active": _("The subscription isn't in active or in grace status."),
    "already_claimed": _("The subscription has already been claimed."),
    "workload_already_claimed": _("Your organisation already holds or has claimed this workload."),
    "workload_not_on_tenant": _(
        "The workload isn't part of any active Microsoft 365 subscription on the customer's tenant."
    ),
    "mpn_not_enrolled": _("The MPN ID isn't enrolled in the programme this activity needs."),
    "no_items": _("Select at least one product or workload."),
    "customer_contact_off_domain": _(
        "The customer contact's email address isn't on one of the customer's verified domains. Enter an address "
        "on a verified domain of the tenant (or a subdomain of one), so that the customer itself receives the notice."
    ),
    "technical_contact_off_domain": _(
        "The technical contact's email address isn't on one of the customer's verified domains. Enter an address "
        "on a verified domain of the tenant (or a subdomain of one), so that the customer itself receives the notice."
    ),
    "partner_contact_not_a_user": _(
        "Your contact's email address must be that of an active user of your organisation in this application."
    ),
}

# The subscription errors that end with the seed's advice to check with the customer
# ("not_provisioned" already says so in its own words).
SUBSCRIPTION_CODES = frozenset(
    {
        "product_not_on_tenant",
        "subscription_required",
        "not_a_subscription_id",
        "subscription_not_on_tenant",
        "subscription_product_mismatch",
        "not_dynamics",
        "csp",
        "subscription_not_active",
        "already_claimed",
    }
)


@dataclass(frozen=True)
class Problem:
    code: str
    subject: str = ""  # what the problem is about: a product, subscription or workload name

    @property
    def message(self) -> str:
        text = str(MESSAGES[self.code])
        if self.code in SUBSCRIPTION_CODES:
            text = f"{text} {CHECK_WITH_CUSTOMER}"
        return f"{self.subject}: {text}" if self.subject else text

    def as_dict(self) -> dict:
        return {"code": self.code, "subject": self.subject}

    @classmethod
    def from_dict(cls, data: dict) -> Problem:
        return cls(code=data["code"], subject=data.get("subject", ""))


def tenant_for(domain: str, tenant_guid) -> Tenant | None:
    """The tenant when `domain` is one of its verified domains, else None (a mismatch)."""
    guid = parse_guid(tenant_guid)
    if guid is None:
        return None
    match = Domain.objects.select_related("tenant").filter(name=normalise_domain(domain), tenant__tenant_id=guid)
    found = match.first()
    return found.tenant if found else None


def _tenant_among(domains: list[Domain], domain: str) -> tuple[Tenant | None, list[str]]:
    """`tenant_for` and the tenant's verified domain names, among `domains` (the verified
    domains of the claim's tenant ID): the background validation needs both."""
    wanted = normalise_domain(domain)
    found = next((row for row in domains if row.name == wanted), None)
    if found is None:
        return None, []
    return found.tenant, [row.name for row in domains if row.tenant_id == found.tenant_id]


def email_domain(address: str) -> str:
    """The domain part of an email address, normalised as domain names are ("" if none)."""
    _local, at, domain = (address or "").strip().rpartition("@")
    return normalise_domain(domain) if at else ""


def is_on_verified_domain(address: str, domain_names) -> bool:
    """The address is on one of `domain_names` or a subdomain of one: `x.contoso.fr` is on
    `contoso.fr`, `evilcontoso.fr` is not."""
    domain = email_domain(address)
    return bool(domain) and any(domain == name or domain.endswith("." + name) for name in domain_names)


# Who may be a claim's partner contact, besides belonging to the partner (`partner_contact_users`).
MAY_BE_PARTNER_CONTACT = Q(is_active=True, is_staff=False, is_superuser=False)


def partner_contact_users(partner):
    """The users a claim's partner contact may be: active users with an active membership of
    the partner (vendor staff never act as a partner). Vendor mail about a claim goes to this
    address, so it is never an arbitrary third party's."""
    return User.objects.filter(MAY_BE_PARTNER_CONTACT, membership__partner=partner).order_by("email")


def is_partner_contact_email(partner, address: str) -> bool:
    address = (address or "").strip()
    return bool(address) and partner_contact_users(partner).filter(email__iexact=address).exists()


def contact_problems(
    *,
    tenant: Tenant,
    customer_email: str,
    technical_email: str = "",
    needs_technical: bool = False,
    domain_names: list[str] | None = None,
) -> list[Problem]:
    """The customer contact and (Dynamics 365) the technical contact are on the tenant's
    verified domains, as the directory holds them now (`domain_names` when the caller has
    just read them). An empty address is left to the required-field check."""
    if domain_names is None:
        domain_names = list(tenant.domains.values_list("name", flat=True))
    problems = []
    if customer_email.strip() and not is_on_verified_domain(customer_email, domain_names):
        problems.append(Problem("customer_contact_off_domain"))
    if needs_technical and technical_email.strip() and not is_on_verified_domain(technical_email, domain_names):
        problems.append(Problem("technical_contact_off_domain"))
    return problems


def partner_contact_problems(*, partner, partner_email: str) -> list[Problem]:
    """The partner contact is one of the partner's active users."""
    if partner_email.strip() and not is_partner_contact_email(partner, partner_email):
        return [Problem("partner_contact_not_a_user")]
    return []


def claim_contact_problems(claim, tenant: Tenant) -> list[Problem]:
    """Every contact rule, for a claim as it is stored (the background validation applies the
    same rules to what `claims_facts` read: `submitted_claim_problems`)."""
    return contact_problems(
        tenant=tenant,
        customer_email=claim.customer_contact_email,
        technical_email=claim.technical_contact_email,
        needs_technical=claim.needs_technical_contact,
    ) + partner_contact_problems(partner=claim.partner, partner_email=claim.partner_contact_email)


def subscription_problems(subscription: Subscription, product: Product) -> list[Problem]:
    subject = str(subscription.subscription_id)
    problems = []
    if subscription.product_id != product.pk:
        problems.append(Problem("subscription_product_mismatch", subject))
    if subscription.product.solution_area != SolutionArea.BUSINESS_APPLICATIONS:
        problems.append(Problem("not_dynamics", subject))
    if subscription.channel == Channel.CSP:
        problems.append(Problem("csp", subject))
    if not subscription.provisioned:
        problems.append(Problem("not_provisioned", subject))
    if not subscription.is_live:
        problems.append(Problem("subscription_not_active", subject))
    return problems


def resolve_subscription(
    tenant: Tenant, product: Product, subscription_id: str = ""
) -> tuple[Subscription | None, list[Problem]]:
    """The subscription a Business Applications item claims, with what is wrong with it.

    If the tenant has exactly one subscription to the product it is taken; if it has
    several, the partner must name one by its subscription ID.
    """
    subscription_id = (subscription_id or "").strip()
    if subscription_id:
        guid = parse_guid(subscription_id)
        subscription = (
            Subscription.objects.select_related("product").filter(subscription_id=guid).first() if guid else None
        )
        if subscription is None:
            return None, [Problem("not_a_subscription_id", subscription_id)]
        if subscription.tenant_id != tenant.pk:
            return None, [Problem("subscription_not_on_tenant", subscription_id)]
    else:
        candidates = list(tenant.subscriptions.select_related("product").filter(product=product)[:2])
        if not candidates:
            return None, [Problem("product_not_on_tenant", product.name)]
        if len(candidates) > 1:
            return None, [Problem("subscription_required", product.name)]
        subscription = candidates[0]
    return subscription, subscription_problems(subscription, product)


def tenant_workloads(tenant: Tenant):
    """Workloads carried by a live Microsoft 365 subscription of the tenant."""
    return Workload.objects.filter(
        products__solution_area=SolutionArea.MICROSOFT_365,
        products__subscriptions__tenant=tenant,
        products__subscriptions__status__in=LIVE_SUBSCRIPTION_STATUSES,
    ).distinct()


def workload_problems(tenant: Tenant, workload: Workload) -> list[Problem]:
    if not tenant_workloads(tenant).filter(pk=workload.pk).exists():
        return [Problem("workload_not_on_tenant", workload.name)]
    return []


def _open_items(item_key: str, program: str, exclude_claim_id=None):
    items = ClaimItem.objects.filter(
        item_key=item_key,
        program=program,
        claim__status__in=OPEN_STATUSES,
        outcome__in=(ItemOutcome.PENDING, ItemOutcome.CONTESTED, ItemOutcome.APPROVED),
    )
    if exclude_claim_id is not None:
        items = items.exclude(claim_id=exclude_claim_id)
    return items


def held_by_own_partner(*, partner, item_key: str, program: str, exclude_claim_id=None) -> bool:
    """This partner already holds, or has a pending claim on, the item for this programme."""
    return _open_items(item_key, program, exclude_claim_id).filter(claim__partner=partner).exists()


def legacy_holders(*, item_key: str, subscription=None):
    """Partners whose pre-CPOR association still holds the item.

    Dynamics 365 and Power BI associations stay valid until their subscription ends;
    Microsoft 365 ones hold nothing (they must be re-associated by a claim).
    """
    if subscription is None:
        return LegacyAssociation.objects.none()
    return LegacyAssociation.objects.filter(
        subscription=subscription, ended_at__isnull=True, subscription__status__in=LIVE_SUBSCRIPTION_STATUSES
    )


def is_competing(*, partner, item_key: str, program: str, subscription=None, exclude_claim_id=None) -> bool:
    """Another partner holds or claims the item for the same programme: not an error, but
    arbitration. Revenue association items (no programme) are never exclusive."""
    if not program:
        return False
    if _open_items(item_key, program, exclude_claim_id).exclude(claim__partner=partner).exists():
        return True
    return legacy_holders(item_key=item_key, subscription=subscription).filter(~Q(partner=partner)).exists()


def claim_competes(claim, *, item_key: str, program: str, subscription=None) -> bool:
    """The claim seeks an item another partner holds or claims for the same programme
    (`is_competing`, the claim itself left out)."""
    return is_competing(
        partner=claim.partner_id,
        item_key=item_key,
        program=program,
        subscription=subscription,
        exclude_claim_id=claim.pk,
    )


def mpn_problems(mpn, programs) -> list[Problem]:
    return [Problem("mpn_not_enrolled", program) for program in programs if program and not mpn.is_enrolled(program)]


# --- The background validation: what it reads, then what it decides ------------------------
#
# The validation of submitted claims reads everything its checks need first (`claims_facts`,
# a few queries whatever the number of claims), then decides each claim from that alone
# (`submitted_claim_problems`, no query). One claim (`pipeline.claim_validate`) and a set of
# claims (`pipeline.claims_validate_set`) go through the same two functions: the rules live once.


@dataclass
class ClaimFacts:
    """What the directory and the other claims say about one submitted claim, as read."""

    tenant: Tenant | None
    domain_names: list[str]
    items: list[ClaimItem]
    # Item ID: the partners that hold or have an open claim on the item (`_open_items`), this
    # claim left out.
    holders: dict[int, set[int]]
    # Item ID: the partners whose live legacy association holds the item (`legacy_holders`).
    legacy_holders: dict[int, set[int]]
    partner_contact_is_a_user: bool
    # Workloads a live Microsoft 365 subscription of the tenant carries (`tenant_workloads`).
    live_workloads: set[int]

    @property
    def competition(self) -> bool:
        """Another claim or a legacy association holds or claims one of the items, whoever's:
        deciding then needs the rival claims locked (the one-claim path)."""
        return any(self.holders.values()) or any(self.legacy_holders.values())


def claims_facts(claims) -> dict[int, ClaimFacts]:
    """`ClaimFacts` of each claim (locked, Submitted, with its mpn and partner read), by claim
    ID: one query for the tenants and their domains, one for the items, one each for the
    holders, the legacy holders, the partner contacts and the live workloads when any item
    needs them."""
    claims = list(claims)
    guids = {guid for guid in (parse_guid(claim.tenant_guid) for claim in claims) if guid is not None}
    domains_by_guid: dict = {}
    for row in Domain.objects.select_related("tenant").filter(tenant__tenant_id__in=guids):
        domains_by_guid.setdefault(row.tenant.tenant_id, []).append(row)
    items_by_claim: dict[int, list[ClaimItem]] = {}
    items = ClaimItem.objects.filter(claim__in=claims).select_related("product", "subscription__product", "workload")
    for item in items.order_by("claim_id", "pk"):
        items_by_claim.setdefault(item.claim_id, []).append(item)
    every_item = [item for claim_items in items_by_claim.values() for item in claim_items]
    holders = _open_item_holders(every_item)
    legacy = _legacy_holders(every_item)
    contacts = _partner_contacts_that_are_users(claims)
    facts = {}
    for claim in claims:
        guid = parse_guid(claim.tenant_guid)
        tenant, domain_names = _tenant_among(domains_by_guid.get(guid, []), claim.domain) if guid else (None, [])
        claim_items = items_by_claim.get(claim.pk, [])
        facts[claim.pk] = ClaimFacts(
            tenant=tenant,
            domain_names=domain_names,
            items=claim_items,
            holders={
                item.pk: {partner for claim_id, partner in holders.get(_thing(item), ()) if claim_id != claim.pk}
                for item in claim_items
            },
            legacy_holders={item.pk: legacy.get(item.subscription_id, set()) for item in claim_items},
            partner_contact_is_a_user=(claim.partner_id, claim.partner_contact_email.strip().upper()) in contacts,
            live_workloads=set(),
        )
    workload_tenants = {fact.tenant.pk for fact in facts.values() if fact.tenant and _workload_items(fact.items)}
    if workload_tenants:
        live = _live_workloads(workload_tenants)
        for fact in facts.values():
            if fact.tenant is not None:
                fact.live_workloads = live.get(fact.tenant.pk, set())
    return facts


def _workload_items(items: list[ClaimItem]) -> list[ClaimItem]:
    return [item for item in items if not item.subscription_id]


def _thing(item: ClaimItem) -> tuple[str, str]:
    """What an item claims, as every claim on the same thing for the same programme names it."""
    return item.item_key, item.program


def _open_item_holders(items: list[ClaimItem]) -> dict[tuple[str, str], list[tuple[int, int]]]:
    """What each of `items` claims: (claim ID, partner ID) of its open items, `_open_items`
    for many items in one query."""
    wanted = {_thing(item) for item in items}
    if not wanted:
        return {}
    rows = (
        ClaimItem.objects.filter(
            item_key__in={key for key, _program in wanted},
            claim__status__in=OPEN_STATUSES,
            outcome__in=(ItemOutcome.PENDING, ItemOutcome.CONTESTED, ItemOutcome.APPROVED),
        )
        .order_by()
        .values_list("item_key", "program", "claim_id", "claim__partner_id")
    )
    found: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for key, program, claim_id, partner in rows:
        if (key, program) in wanted:
            found.setdefault((key, program), []).append((claim_id, partner))
    return found


def _legacy_holders(items: list[ClaimItem]) -> dict[int, set[int]]:
    """Subscription ID: the partners of its live legacy associations (`legacy_holders`)."""
    subscriptions = {item.subscription_id for item in items if item.subscription_id}
    if not subscriptions:
        return {}
    rows = LegacyAssociation.objects.filter(
        subscription_id__in=subscriptions, ended_at__isnull=True, subscription__status__in=LIVE_SUBSCRIPTION_STATUSES
    ).values_list("subscription_id", "partner_id")
    found: dict[int, set[int]] = {}
    for subscription_id, partner in rows:
        found.setdefault(subscription_id, set()).add(partner)
    return found


def _partner_contacts_that_are_users(claims) -> set[tuple[int, str]]:
    """(partner ID, upper-cased address) of the claims' partner contacts that are
    `partner_contact_users` of the claim's partner (the address compared as `iexact` does)."""
    wanted = {(claim.partner_id, claim.partner_contact_email.strip()) for claim in claims}
    match = Q()
    for partner, address in wanted:
        if address:
            match |= Q(membership__partner_id=partner, email__iexact=address)
    if not match:
        return set()
    users = User.objects.filter(match, MAY_BE_PARTNER_CONTACT)
    return {(partner, email.upper()) for partner, email in users.values_list("membership__partner_id", "email")}


def _live_workloads(tenant_ids) -> dict[int, set[int]]:
    """Tenant ID: the workloads `tenant_workloads` lists for it, for many tenants at once."""
    rows = (
        Workload.objects.filter(
            products__solution_area=SolutionArea.MICROSOFT_365,
            products__subscriptions__tenant__in=tenant_ids,
            products__subscriptions__status__in=LIVE_SUBSCRIPTION_STATUSES,
        )
        .values_list("products__subscriptions__tenant_id", "pk")
        .distinct()
    )
    found: dict[int, set[int]] = {}
    for tenant_id, workload_id in rows:
        found.setdefault(tenant_id, set()).add(workload_id)
    return found


def submitted_claim_problems(claim, facts: ClaimFacts) -> tuple[list[Problem], list[ClaimItem]]:
    """What section 4 finds wrong with a submitted claim, and which of its items compete, from
    its `ClaimFacts` alone."""
    problems: list[Problem] = []
    contested: list[ClaimItem] = []
    tenant = facts.tenant
    if tenant is None:
        problems.append(Problem("domain_tenant_mismatch"))
    problems += mpn_problems(claim.mpn, claim.programs)
    if not facts.items:
        problems.append(Problem("no_items"))
    if tenant is None:
        return problems, contested
    # The contacts again: the directory may have changed since the Contacts step.
    problems += contact_problems(
        tenant=tenant,
        customer_email=claim.customer_contact_email,
        technical_email=claim.technical_contact_email,
        needs_technical=claim.needs_technical_contact,
        domain_names=facts.domain_names,
    )
    if claim.partner_contact_email.strip() and not facts.partner_contact_is_a_user:
        problems.append(Problem("partner_contact_not_a_user"))
    for item in facts.items:
        # Is the item already the partner's own (a problem), does another partner compete for it (arbitration)?
        holders = facts.holders[item.pk]
        own = claim.partner_id in holders
        if item.subscription_id:
            subscription = item.subscription
            subject = str(subscription.subscription_id)
            if subscription.tenant_id != tenant.pk:
                problems.append(Problem("subscription_not_on_tenant", subject))
            problems += subscription_problems(subscription, item.product)
            if own:
                problems.append(Problem("already_claimed", subject))
        else:
            if item.workload_id not in facts.live_workloads:
                problems.append(Problem("workload_not_on_tenant", item.workload.name))
            if own:
                problems.append(Problem("workload_already_claimed", item.workload.name))
        others = (holders | facts.legacy_holders[item.pk]) - {claim.partner_id}
        if item.program and others:  # revenue association items (no programme) are never exclusive
            contested.append(item)
    # A Usage and Pre-sales claim has two items per subscription: say each problem once.
    return list(dict.fromkeys(problems)), contested
