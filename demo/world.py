"""The demo world behind `make run`: master data, the Reviewers group and five sign-ins.

`directory.jsonl` beside this file is the demo's directory feed. It starts with the sample
feed (tenants/tests/data/directory-sample.jsonl), unchanged (partners Fabrikam Consulting 4000001 and Northwind Advisory
4100001, their MPN IDs, the products, Contoso, Litware and Tailspin with their
subscriptions), and adds what makes every outcome of PRODUCT.md section 4 triable in the
browser:

- Adventure Works Cycles: a Dynamics 365 Sales subscription bought through CSP, a
  claimable Customer Service one, Microsoft 365 Business Basic.
- Wide World Importers: a claimable Power BI Pro subscription, Microsoft 365 E3, and a
  deleted Dynamics 365 Sales subscription.
- Woodgrove Bank: the tenant only Northwind claims (Dynamics 365 Sales, Microsoft 365 E3).
- Alpine Ski House: Microsoft 365 only, with Fabrikam's legacy Exchange Online association
  that must be re-associated by a claim.
- Fourth Coffee: a disabled Microsoft 365 E3 (its workloads are on no live subscription)
  and a Customer Service subscription in grace.
- Already in the sample: Contoso's two Customer Service subscriptions (the subscription ID
  is asked), Contoso's Power BI bought through CSP, Litware's unprovisioned and disabled
  subscriptions, Northwind's legacy Dynamics 365 association on Tailspin.
- Monthly usage for May to October 2026, for workloads and Business Applications products.

Every demo user's password is `cpor-demo`. Seeding again changes nothing, except that a demo
user whose password or role was changed gets the demo's back, so the demo sign-ins always
work. The demo exists only outside production: `demo_allowed_check` refuses production
settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth.models import Group
from django.db import transaction

from cpor.models import Membership, Partner, Role, User
from cpor.reviewers import reviewers_group_ensure
from tenants.importer import ImportReport, directory_import

DEMO_FEED = Path(__file__).with_name("directory.jsonl")
DEMO_PASSWORD = "cpor-demo"  # noqa: S105 - the demo's published password, refused in production
PRODUCTION_SETTINGS = "cpor.settings.production"


@dataclass(frozen=True)
class DemoUser:
    email: str
    first_name: str
    last_name: str
    partner_id: str = ""  # a partner user's partner; empty for vendor staff
    role: str = ""
    language: str = "en"

    @property
    def is_reviewer(self) -> bool:
        return not self.partner_id


DEMO_USERS = (
    DemoUser("incentives@fabrikam.example", "Inès", "Moreau", "4000001", Role.INCENTIVES_ADMIN),
    DemoUser("billing@fabrikam.example", "Bruno", "Lefèvre", "4000001", Role.BILLING_ADMIN),
    DemoUser("global@fabrikam.example", "Gaëlle", "Durand", "4000001", Role.GLOBAL_ADMIN),
    DemoUser("incentives@northwind.example", "Nora", "Whitfield", "4100001", Role.INCENTIVES_ADMIN),
    DemoUser("reviewer@cpor.example", "Riley", "Chen"),
)


class DemoRefused(Exception):
    pass


@dataclass
class DemoReport:
    directory: ImportReport
    users_created: list[str] = field(default_factory=list)
    users_updated: list[str] = field(default_factory=list)
    reviewers_group_changed: bool = False


def demo_allowed_check(settings_module: str | None) -> None:
    """Demo passwords exist only in the demo world: never seed under production settings."""
    if (settings_module or "").strip() == PRODUCTION_SETTINGS:
        raise DemoRefused(f"The demo world is not seeded under {PRODUCTION_SETTINGS}: its passwords are public.")


@transaction.atomic
def demo_seed(*, feed_path: Path = DEMO_FEED) -> DemoReport:
    """Load the demo feed, then make the Reviewers group and the demo users what they should be."""
    with feed_path.open("rb") as stream:
        report = DemoReport(directory=directory_import(stream=stream))
    group, report.reviewers_group_changed = reviewers_group_ensure()
    for spec in DEMO_USERS:
        outcome = _demo_user_ensure(spec, group)
        if outcome == "created":
            report.users_created.append(spec.email)
        elif outcome == "updated":
            report.users_updated.append(spec.email)
    return report


def _demo_user_ensure(spec: DemoUser, reviewers: Group) -> str:
    user = User.objects.filter(email__iexact=spec.email).first()
    created = user is None
    if created:
        user = User(email=spec.email)
    wanted = {
        "first_name": spec.first_name,
        "last_name": spec.last_name,
        "language": spec.language,
        "is_active": True,
        "is_staff": spec.is_reviewer,
        "is_superuser": False,
    }
    changed = [name for name, value in wanted.items() if getattr(user, name) != value]
    for name in changed:
        setattr(user, name, wanted[name])
    if created or not user.check_password(DEMO_PASSWORD):
        user.set_password(DEMO_PASSWORD)
        changed.append("password")
    if created:
        user.save()
    elif changed:
        user.save(update_fields=changed)

    groups = {reviewers} if spec.is_reviewer else set()
    if set(user.groups.all()) != groups:
        user.groups.set(groups)
        changed.append("groups")
    if _membership_ensure(user, spec):
        changed.append("membership")
    if created:
        return "created"
    return "updated" if changed else "unchanged"


def _membership_ensure(user: User, spec: DemoUser) -> bool:
    """Give a partner user the demo's partner and role; a reviewer holds no membership."""
    membership = Membership.objects.filter(user=user).first()
    if spec.is_reviewer:
        if membership is None:
            return False
        membership.delete()
        return True
    partner = Partner.objects.get(partner_id=spec.partner_id)
    if membership is not None and (membership.partner_id, membership.role) == (partner.pk, spec.role):
        return False
    Membership.objects.update_or_create(user=user, defaults={"partner": partner, "role": spec.role})
    return True
