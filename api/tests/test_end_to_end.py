"""End to end: a partner's system, with an API key, files, submits and follows a claim
through a real Celery worker, the real broker and PostgreSQL, up to its approval and the
customer's usage data (see claims/tests/test_worker.py for the worker)."""

import datetime
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from api import services
from claims.models import Activity, ClaimEvent, ClaimItem, ClaimStatus
from claims.tests.factories import PDF_BYTES, directory_world
from claims.tests.test_worker import subprocess_env, wait_for, worker  # noqa: F401 (the worker fixture)
from cpor.models import Role
from cpor.tests.factories import partner_user
from tenants.models import SolutionArea, Usage

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_key_files_submits_and_follows_a_claim_to_approval_through_a_real_worker(
    worker,  # noqa: F811
    tmp_path,
    partner,
    api,
):
    world = directory_world(partner)
    admin = partner_user(partner, Role.GLOBAL_ADMIN, language="fr")
    _, secret = services.api_key_create(actor=admin, name="CRM", role=Role.INCENTIVES_ADMIN)
    crm = api(secret)

    # File: the draft, its subscription, contacts, proof of execution and a comment.
    created = crm.post(
        "/api/v1/claims/",
        {
            "mpn": world.mpn.mpn_id,
            "domain": world.domain,
            "tenant_id": str(world.tenant.tenant_id),
            "solution_area": SolutionArea.BUSINESS_APPLICATIONS,
            "activity": Activity.USAGE,
            "name": "Contoso Sales",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    claim_url = created["Location"]
    assert crm.put(f"{claim_url}items/", {"items": [world.sales.pk]}, format="json").status_code == 200
    contacts = {
        "customer_contact_name": "Ada Customer",
        "customer_contact_title": "CIO",
        "customer_contact_email": "ada@contoso.fr",
        "technical_contact_name": "Tom Tech",
        "technical_contact_title": "IT lead",
        "technical_contact_email": "tom@contoso.fr",
        "partner_contact_name": "Paula Partner",
        "partner_contact_email": "paula@fabrikam.example",
    }
    assert crm.put(f"{claim_url}contacts/", contacts, format="json").status_code == 200
    upload = SimpleUploadedFile("sow.pdf", PDF_BYTES, content_type="application/pdf")
    assert crm.post(f"{claim_url}proofs/", {"files": [upload]}).status_code == 201
    assert crm.post(f"{claim_url}comments/", {"body": "SOW signed in May."}, format="json").status_code == 201

    # Submit: the worker validates it and emails the customer.
    submitted = crm.post(f"{claim_url}submit/")
    assert submitted.status_code == 200
    assert submitted.json()["status"] == ClaimStatus.SUBMITTED
    assert submitted["Content-Language"] == "fr"
    assert submitted.json()["status_text"]["label"] == "Soumise"

    def validated():
        body = crm.get(claim_url).json()
        return body if body["status"] != ClaimStatus.SUBMITTED else None

    body = wait_for(validated, what="the worker to validate the claim")
    assert body["status"] == ClaimStatus.UNDER_REVIEW, body["validation_errors"]
    mail_dir = tmp_path / "mail"
    wait_for(
        lambda: "To: ada@contoso.fr" in "".join(path.read_text() for path in mail_dir.glob("*.log")),
        what="the customer's email",
    )
    body = wait_for(
        lambda: (
            (found := crm.get(claim_url).json())
            and "customer_notified" in [entry["action"] for entry in found["history"]]
            and found
        ),
        what="the customer notice in the History",
    )
    # The opt-out window starts once the customer's notice has been sent.
    assert body["opt_out_deadline"] and body["review_due_at"]
    assert body["opt_out_deadline_local"].endswith("(Europe/Paris)")
    actions = [(entry["action"], entry["actor"]) for entry in body["history"]]
    assert actions[:6] == [
        ("draft_created", admin.email),
        ("items_changed", admin.email),
        ("contacts_changed", admin.email),
        ("poe_added", admin.email),
        ("comment_added", admin.email),
        ("submitted", admin.email),
    ]
    assert ("validated", "Système") in actions
    listed = crm.get("/api/v1/claims/?status=under_review").json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]

    # The window closes without an opt-out: the timer (one periodic pass) approves it.
    deadline = datetime.datetime.fromisoformat(body["opt_out_deadline"])
    later = (deadline + datetime.timedelta(days=1)).astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = subprocess.run(
        [sys.executable, "manage.py", "run_periodic_jobs", "--now", later],
        cwd=settings.BASE_DIR,
        env=subprocess_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    approved = crm.get(claim_url).json()
    assert approved["status"] == ClaimStatus.APPROVED
    assert [item["outcome"] for item in approved["items"]] == ["approved"]
    assert ClaimEvent.objects.filter(claim_id=body["id"], action="approved").count() == 1

    # Approved: the customer's usage data, counted from the month of approval on.
    approved_on = ClaimItem.objects.get(claim_id=body["id"]).decided_at
    Usage.objects.create(
        tenant=world.tenant,
        workload=world.sales.code,
        month=approved_on.date().replace(day=1),
        monthly_active_users=40,
        paid_available_units=50,
    )
    usage = crm.get(f"/api/v1/usage/?claim={body['id']}").json()
    assert [(row["workload_name"], row["monthly_active_users"]) for row in usage["results"]] == [
        ("Dynamics 365 Sales", 40)
    ]
