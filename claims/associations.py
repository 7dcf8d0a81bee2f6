"""Who is recorded as a customer's partner now (issue 9, section 7): the page the customer's
opt-out link opens lists every current association on the customer's tenant, not only the
claim the link is about.

It is the customer's own data, shown to whoever holds a valid link, so it names the partner,
the workload or subscription, the programme and since when, and nothing else: no contacts,
no MPN ID, no proof of execution, no comments.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone

from tenants.models import LegacyAssociation, Tenant

from .models import ClaimItem, ClaimStatus, ItemOutcome
from .usage import attribution_type


@dataclass(frozen=True)
class CurrentAssociation:
    partner: str
    item: str
    program: str  # the programme, or "Revenue association"
    since: datetime.date | None
    legacy: bool  # from before the claim model


def tenant_associations_current(tenant: Tenant) -> list[CurrentAssociation]:
    """Every approved item of any partner's approved claim on the tenant, and every legacy
    association still standing, by partner name then item; two queries."""
    zone = timezone.get_current_timezone()
    associations = [
        CurrentAssociation(
            partner=item.claim.partner.name,
            item=item.label,
            program=attribution_type(item.program),
            since=timezone.localtime(item.decided_at, zone).date() if item.decided_at else None,
            legacy=False,
        )
        for item in ClaimItem.objects.filter(
            claim__tenant=tenant, claim__status=ClaimStatus.APPROVED, outcome=ItemOutcome.APPROVED
        ).select_related("claim__partner", "product", "subscription", "workload")
    ]
    for legacy in LegacyAssociation.objects.filter(tenant=tenant, ended_at__isnull=True).select_related(
        "partner", "workload", "subscription__product"
    ):
        if legacy.workload_id:
            label = legacy.workload.name
        else:
            label = f"{legacy.subscription.product.name} ({legacy.subscription.subscription_id})"
        associations.append(
            CurrentAssociation(partner=legacy.partner.name, item=label, program="", since=legacy.since, legacy=True)
        )
    return sorted(associations, key=lambda entry: (entry.partner.casefold(), entry.item.casefold(), entry.program))
