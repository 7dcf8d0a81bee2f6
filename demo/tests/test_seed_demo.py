"""`manage.py seed_demo` and the demo world it builds (the demo app)."""

import json
import uuid

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db.models import F
from django.http import HttpRequest

from cpor import access
from cpor.models import Membership, Role, User
from cpor.reviewers import REVIEWERS_GROUP
from demo.world import (
    DEMO_FEED,
    DEMO_PASSWORD,
    DEMO_USERS,
    DemoRefused,
    demo_allowed_check,
    demo_seed,
)
from tenants.models import LegacyAssociation, Subscription, Tenant, Usage, Workload
from tenants.tests.test_importer import SAMPLE, snapshot

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_the_demo_logins_with_their_roles(client):
    call_command("seed_demo")

    roles = {
        membership.user.email: (membership.partner.name, membership.partner.partner_id, membership.role)
        for membership in Membership.objects.select_related("user", "partner")
    }
    assert roles == {
        "incentives@fabrikam.example": ("Fabrikam Consulting", "4000001", Role.INCENTIVES_ADMIN),
        "billing@fabrikam.example": ("Fabrikam Consulting", "4000001", Role.BILLING_ADMIN),
        "global@fabrikam.example": ("Fabrikam Consulting", "4000001", Role.GLOBAL_ADMIN),
        "incentives@northwind.example": ("Northwind Advisory", "4100001", Role.INCENTIVES_ADMIN),
    }
    for spec in DEMO_USERS:
        assert client.login(request=HttpRequest(), username=spec.email, password=DEMO_PASSWORD), spec.email
        client.logout()


def test_the_demo_reviewer_is_staff_in_the_reviewers_group_and_not_a_superuser():
    call_command("seed_demo")

    reviewer = User.objects.get(email="reviewer@cpor.example")
    assert reviewer.is_staff and not reviewer.is_superuser
    assert list(reviewer.groups.values_list("name", flat=True)) == [REVIEWERS_GROUP]
    assert access.is_reviewer(reviewer)
    assert not Membership.objects.filter(user=reviewer).exists()
    assert not User.objects.filter(is_superuser=True).exists()


def test_reviewers_may_view_and_change_claims_and_master_data_and_add_comments():
    call_command("seed_demo")

    reviewer = User.objects.get(email="reviewer@cpor.example")
    for permission in (
        "claims.view_claim",
        "claims.change_claim",
        "claims.add_comment",
        "claims.view_comment",
        "tenants.view_tenant",
        "tenants.view_subscription",
        "tenants.view_usage",
        "cpor.view_partner",
        "cpor.view_mpnid",
        "cpor.view_user",
        "cpor.view_membership",
    ):
        assert reviewer.has_perm(permission), permission
    # Users and memberships are read-only to reviewers (cpor/admin.py says why).
    for permission in (
        "claims.delete_claim",
        "claims.add_claim",
        "tenants.add_tenant",
        "cpor.add_user",
        "cpor.change_user",
        "cpor.change_membership",
    ):
        assert not reviewer.has_perm(permission), permission


def test_seed_demo_twice_changes_nothing(capsys):
    call_command("seed_demo")
    before = snapshot()
    users_before = list(User.objects.order_by("email").values())
    group_before = set(Group.objects.get(name=REVIEWERS_GROUP).permissions.all())

    report = demo_seed()

    assert report.directory.changed == 0
    assert (report.users_created, report.users_updated, report.reviewers_group_changed) == ([], [], False)
    assert snapshot() == before
    assert list(User.objects.order_by("email").values()) == users_before
    assert set(Group.objects.get(name=REVIEWERS_GROUP).permissions.all()) == group_before


def test_seed_demo_restores_a_changed_demo_password_and_role(client):
    call_command("seed_demo")
    user = User.objects.get(email="billing@fabrikam.example")
    user.set_password("something-else")
    user.save()
    Membership.objects.filter(user=user).update(role=Role.INCENTIVES_USER)

    report = demo_seed()

    assert report.users_updated == ["billing@fabrikam.example"]
    assert client.login(request=HttpRequest(), username="billing@fabrikam.example", password=DEMO_PASSWORD)
    assert Membership.objects.get(user=user).role == Role.BILLING_ADMIN


def test_seed_demo_prints_a_summary(capsys):
    call_command("seed_demo")

    out = capsys.readouterr().out
    assert "users: 5 created, 0 updated, 0 unchanged" in out
    assert "reviewer@cpor.example" in out
    assert DEMO_PASSWORD in out


@pytest.mark.parametrize("settings_module", ["cpor.settings.base", "cpor.settings.test", None])
def test_the_demo_is_seeded_outside_production(monkeypatch, settings_module):
    # Only the variable the check reads changes; the settings in force stay the test ones.
    if settings_module is None:
        monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    else:
        monkeypatch.setenv("DJANGO_SETTINGS_MODULE", settings_module)

    call_command("seed_demo")

    assert set(User.objects.values_list("email", flat=True)) == {spec.email for spec in DEMO_USERS}
    assert Tenant.objects.filter(name="Contoso Ltd").exists()


def test_the_demo_is_refused_under_production_settings():
    with pytest.raises(DemoRefused):
        demo_allowed_check("cpor.settings.production")


def test_seed_demo_refuses_to_run_in_production_mode_and_creates_nothing(monkeypatch):
    # Only the variable the check reads changes; the production settings module is never imported.
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "cpor.settings.production")

    with pytest.raises(CommandError, match="not seeded under cpor.settings.production"):
        call_command("seed_demo")

    assert not User.objects.exists()
    assert not Tenant.objects.exists()


# --- The demo feed -------------------------------------------------------------------------------


def test_the_demo_feed_keeps_the_shared_sample_adding_only_format_1_1_fields():
    demo = [json.loads(line) for line in DEMO_FEED.read_text(encoding="utf-8").splitlines()]
    sample = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    format_1_1 = {"tenant": {"notification_emails"}, "usage": {"subscription_id"}}

    for sample_record, demo_record in zip(sample, demo, strict=False):
        added = format_1_1.get(demo_record["type"], set())
        assert {name: value for name, value in demo_record.items() if name not in added} == sample_record


def test_every_demo_tenant_has_notification_emails_and_business_applications_usage_names_its_subscription():
    demo_seed()

    assert not Tenant.objects.filter(notification_emails=[]).exists()
    contoso = Tenant.objects.get(tenant_id=uuid.UUID("259e6e7a-0fc2-5d40-a358-1991da9a1dee"))
    assert contoso.notification_emails == ["it-notifications@contoso.fr", "legal@contoso.fr"]
    business_usage = Usage.objects.exclude(workload__in=Workload.objects.values("name"))
    assert business_usage.exists()
    assert not business_usage.filter(subscription__isnull=True).exists()
    assert not business_usage.exclude(workload=F("subscription__product__code")).exists()


def _subscriptions(tenant_name: str) -> list[tuple[str, str, str, bool]]:
    return [
        (s.product.code, s.channel, s.status, s.provisioned)
        for s in Subscription.objects.filter(tenant__name=tenant_name).select_related("product")
    ]


def test_the_demo_feed_covers_every_validation_outcome():
    demo_seed()

    assert ("D365_SALES", "CSP", "active", True) in _subscriptions("Adventure Works Cycles")
    assert ("POWERBI_PRO", "Volume Licensing", "active", True) in _subscriptions("Wide World Importers")
    assert ("D365_SALES", "Volume Licensing", "deleted", True) in _subscriptions("Wide World Importers")
    assert ("M365_E3", "Volume Licensing", "disabled", True) in _subscriptions("Fourth Coffee")
    assert ("D365_SALES", "Volume Licensing", "active", False) in _subscriptions("Litware Inc")
    assert ("D365_CS", "Volume Licensing", "disabled", True) in _subscriptions("Litware Inc")
    contoso_cs = [code for code, *_ in _subscriptions("Contoso Ltd") if code == "D365_CS"]
    assert len(contoso_cs) == 2  # the partner must name the subscription ID
    assert Tenant.objects.filter(name="Woodgrove Bank").exists()
    m365_tenants = Tenant.objects.filter(
        subscriptions__product__solution_area="Microsoft 365", subscriptions__status="active"
    ).distinct()
    assert m365_tenants.count() >= 5
    northwind_d365 = LegacyAssociation.objects.get(partner__partner_id="4100001", subscription__isnull=False)
    assert northwind_d365.subscription.product.family == "Dynamics 365"
    fabrikam_m365 = LegacyAssociation.objects.get(partner__partner_id="4000001")
    assert fabrikam_m365.workload.name == "Exchange Online"


def test_the_demo_feed_has_six_months_of_usage_for_workloads_and_products():
    demo_seed()
    months = {line["month"] for line in map(json.loads, DEMO_FEED.read_text().splitlines()) if line["type"] == "usage"}
    contoso = Tenant.objects.get(tenant_id=uuid.UUID("259e6e7a-0fc2-5d40-a358-1991da9a1dee"))

    assert sorted(months) == ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    for workload in ("Exchange Online", "Microsoft Teams", "D365_SALES", "D365_CS", "POWERBI_PRO"):
        assert Usage.objects.filter(tenant=contoso, workload=workload).count() == 6, workload


def test_seed_demo_files_demo_claims_through_the_services_once():
    from claims import validation
    from claims.models import Claim, ClaimItem, ClaimStatus
    from demo.claims import DEMO_CLAIMS

    call_command("seed_demo")
    call_command("seed_demo")
    assert Claim.objects.count() == len(DEMO_CLAIMS)
    for spec in DEMO_CLAIMS:
        claim = Claim.objects.get(name=spec.name)
        assert claim.status == spec.outcome
        assert claim.events.filter(action="draft_created").exists()
    # Northwind holds Contoso's Customer Service subscription: a Fabrikam claim on it competes.
    held = ClaimItem.objects.get(claim__name="Contoso Customer Service adoption")
    fabrikam = User.objects.get(email="incentives@fabrikam.example").membership.partner
    assert validation.is_competing(partner=fabrikam, item_key=held.item_key, program=held.program)
    assert Claim.objects.filter(status=ClaimStatus.APPROVED, partner=fabrikam).exists()


def test_the_demo_claims_customers_were_notified_as_the_contact_rules_require():
    """Issue 7 in the demo: the contacts pass the rules, every notice went out (to the
    directory's notification addresses too), and each window runs from its notice."""
    from claims import deadlines, validation
    from claims.models import Claim, ClaimStatus

    call_command("seed_demo")
    submitted = Claim.objects.exclude(status=ClaimStatus.DRAFT).select_related("tenant", "partner")
    assert submitted.exists()
    for claim in submitted:
        assert validation.claim_contact_problems(claim, claim.tenant) == [], claim.name
        notices = claim.customer_emails.all()
        assert not notices.filter(sent_at__isnull=True).exists(), claim.name
        assert set(claim.tenant.notification_emails) <= set(notices.values_list("recipient", flat=True))
        customer_notice = notices.get(role="customer")
        assert claim.notified_at == customer_notice.sent_at
        assert claim.opt_out_deadline == deadlines.opt_out_deadline(claim.notified_at, tenant=claim.tenant)


def test_no_demo_date_is_in_the_future():
    """Demo data reads as real data would: what happened, happened before now, and an
    approved claim's window closed before its approval."""
    from django.utils import timezone

    from claims.models import Claim, ClaimEvent, ClaimItem, ClaimStatus, ProofOfExecution
    from notifications.models import Notification

    call_command("seed_demo")
    now = timezone.now()

    moments = [
        *Claim.objects.values_list("created_at", "submitted_at", "notified_at", "decided_at"),
        *ClaimItem.objects.values_list("decided_at"),
        *ClaimEvent.objects.values_list("created_at"),
        *ProofOfExecution.objects.values_list("uploaded_at"),
        *Notification.objects.values_list("created_at"),
    ]
    assert [moment for row in moments for moment in row if moment and moment > now] == []
    approved = Claim.objects.filter(status=ClaimStatus.APPROVED)
    assert approved.count() == 2
    for claim in approved:
        assert claim.submitted_at < claim.notified_at < claim.opt_out_deadline < claim.decided_at < now
        assert claim.events.get(action="approved").created_at >= claim.opt_out_deadline


def test_the_demos_approved_claims_show_usage_data():
    from claims.usage import usage_rows_visible_to

    call_command("seed_demo")

    for email in ("incentives@fabrikam.example", "incentives@northwind.example"):
        months = {row["month"].isoformat()[:7] for row in usage_rows_visible_to(User.objects.get(email=email))}
        assert months == {"2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"}, email
