"""The partner's pages (claims/views.py): list, export, claim page, comments, files, and the
permission matrix of every URL of claims/urls_browse.py and claims/urls_wizard.py."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims.models import Activity, ClaimEvent, ClaimStatus, Comment, ProofOfExecution
from claims.tests.factories import (
    PDF_BYTES,
    ClaimFactory,
    ProofFactory,
    SubscriptionItemFactory,
    WorkloadItemFactory,
)
from cpor.models import Role
from cpor.tests.factories import MpnIdFactory, UserFactory, partner_user
from tenants.models import SolutionArea
from tenants.tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def claim(mpn):
    claim = ClaimFactory(partner=mpn.partner, mpn=mpn, status=ClaimStatus.UNDER_REVIEW, name="Contoso Sales")
    SubscriptionItemFactory(claim=claim)
    return claim


def own(mpn, **fields):
    return ClaimFactory(partner=mpn.partner, mpn=mpn, **fields)


# --- Permission matrix -------------------------------------------------------------------

# (url name, needs a claim/file pk, method, write?)
READ_URLS = [
    ("claims:overview", None, "get"),
    ("claims:list", None, "get"),
    ("claims:export", None, "get"),
    ("claims:proof_template", None, "get"),
    ("claims:detail", "claim", "get"),
    ("claims:proof_download", "proof", "get"),
]
WRITE_URLS = [
    ("claims:comment", "claim", "post"),
    ("claims:proof_add", "claim", "post"),
    ("claims:new", None, "get"),
    ("claims:new_activity", None, "get"),
    ("claims:new_associate", None, "get"),
    ("claims:draft_details", "draft", "get"),
    ("claims:draft_items", "draft", "get"),
    ("claims:draft_contacts", "draft", "get"),
    ("claims:draft_proof", "draft", "get"),
    ("claims:draft_submit", "draft", "get"),
    ("claims:draft_delete", "draft", "get"),
    ("claims:draft_proof_remove", "draft_proof", "post"),
    ("claims:submit", "draft", "post"),
]


def url_for(name, kind, objects):
    if kind is None:
        return reverse(name)
    if kind == "draft_proof":
        proof = objects["draft_proof"]
        return reverse(name, args=[proof.claim_id, proof.pk])
    return reverse(name, args=[objects[kind].pk])


@pytest.fixture
def objects(mpn):
    draft = own(mpn, status=ClaimStatus.DRAFT)
    claim = own(mpn, status=ClaimStatus.ACTION_REQUIRED)
    return {
        "claim": claim,
        "draft": draft,
        "proof": ProofFactory(claim=claim),
        "draft_proof": ProofFactory(claim=draft),
    }


@pytest.fixture
def foreign_objects():
    other_mpn = MpnIdFactory()
    draft = ClaimFactory(partner=other_mpn.partner, mpn=other_mpn, status=ClaimStatus.DRAFT)
    claim = ClaimFactory(partner=other_mpn.partner, mpn=other_mpn, status=ClaimStatus.ACTION_REQUIRED)
    return {
        "claim": claim,
        "draft": draft,
        "proof": ProofFactory(claim=claim),
        "draft_proof": ProofFactory(claim=draft),
    }


def call(client, method, url):
    return client.post(url, {"body": "Hello"}) if method == "post" else client.get(url)


@pytest.mark.parametrize(("name", "kind", "method"), READ_URLS + [(n, k, m) for n, k, m in WRITE_URLS])
def test_anonymous_is_sent_to_sign_in(client, objects, name, kind, method):
    response = call(client, method, url_for(name, kind, objects))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


@pytest.mark.parametrize(("name", "kind", "method"), READ_URLS + WRITE_URLS)
def test_a_user_without_a_partner_is_refused(client, objects, name, kind, method):
    client.force_login(UserFactory(is_staff=True))
    assert call(client, method, url_for(name, kind, objects)).status_code == 403


@pytest.mark.parametrize(("name", "kind", "method"), [u for u in READ_URLS + WRITE_URLS if u[1]])
def test_another_partners_claim_or_file_is_404_like_a_missing_one(
    client, incentives_admin, foreign_objects, name, kind, method
):
    client.force_login(incentives_admin)
    assert call(client, method, url_for(name, kind, foreign_objects)).status_code == 404
    assert Comment.objects.count() == 0
    assert ProofOfExecution.objects.count() == 2


@pytest.mark.parametrize(("name", "kind", "method"), [u for u in READ_URLS + WRITE_URLS if u[1] in ("claim", "draft")])
def test_a_missing_claim_is_404(client, incentives_admin, objects, name, kind, method):
    client.force_login(incentives_admin)
    url = reverse(name, args=[objects[kind].pk + 10_000])
    assert call(client, method, url).status_code == 404


@pytest.mark.parametrize("role", [Role.BILLING_ADMIN, Role.GLOBAL_ADMIN, Role.INCENTIVES_USER, Role.INCENTIVES_ADMIN])
@pytest.mark.parametrize(("name", "kind", "method"), READ_URLS)
def test_every_role_of_the_partner_reads(client, partner, objects, role, name, kind, method):
    client.force_login(partner_user(partner, role))
    assert call(client, method, url_for(name, kind, objects)).status_code == 200


@pytest.mark.parametrize("role", [Role.BILLING_ADMIN, Role.GLOBAL_ADMIN, Role.INCENTIVES_USER])
@pytest.mark.parametrize(("name", "kind", "method"), WRITE_URLS)
def test_only_an_incentives_admin_writes(client, partner, objects, role, name, kind, method):
    client.force_login(partner_user(partner, role))
    assert call(client, method, url_for(name, kind, objects)).status_code == 403
    assert Comment.objects.count() == 0
    assert ProofOfExecution.objects.count() == 2


# What each write URL answers an Incentives admin, called as `call` calls it: its page (200),
# or the page it sends them to (url name, object kind, suffix).
WRITE_ANSWERS = {
    "claims:comment": ("claims:detail", "claim", "#comments"),  # saved, back to the comments
    "claims:proof_add": ("claims:detail", "claim", "#proof"),  # no file in the form: back, with the error
    "claims:new": 200,
    "claims:new_activity": ("claims:new", None, "?"),  # no MPN ID or customer chosen yet: the first step
    "claims:new_associate": ("claims:new", None, "?"),
    "claims:draft_details": 200,
    "claims:draft_items": 200,
    "claims:draft_contacts": 200,
    "claims:draft_proof": 200,
    "claims:draft_submit": 200,
    "claims:draft_delete": 200,  # the confirmation page: nothing is deleted by a GET
    "claims:draft_proof_remove": ("claims:draft_proof", "draft", ""),
    "claims:submit": ("claims:draft_submit", "draft", ""),  # no products yet: back, with what is missing
}


def stored(objects) -> dict:
    return {
        "statuses": {kind: type(objects[kind]).objects.get(pk=objects[kind].pk).status for kind in ("claim", "draft")},
        "comments": list(Comment.objects.values_list("claim_id", "body")),
        "proofs": set(ProofOfExecution.objects.values_list("pk", flat=True)),
    }


@pytest.mark.parametrize(("name", "kind", "method"), WRITE_URLS)
def test_an_incentives_admin_reaches_every_write_page(client, incentives_admin, objects, name, kind, method):
    client.force_login(incentives_admin)
    before = stored(objects)

    response = call(client, method, url_for(name, kind, objects))

    answer = WRITE_ANSWERS[name]
    if answer == 200:
        assert response.status_code == 200
    else:
        target, target_kind, suffix = answer
        assert response.status_code == 302
        assert response["Location"] == url_for(target, target_kind, objects) + suffix
    expected = before
    if name == "claims:comment":  # the comment answers the information request
        expected = {
            **before,
            "statuses": {**before["statuses"], "claim": ClaimStatus.UNDER_REVIEW},
            "comments": [(objects["claim"].pk, "Hello")],
        }
    elif name == "claims:draft_proof_remove":
        expected = {**before, "proofs": before["proofs"] - {objects["draft_proof"].pk}}
    assert stored(objects) == expected


# --- Overview and list -----------------------------------------------------------------------


def test_overview_shows_mpn_ids_with_their_programmes_and_counts(client, incentives_admin, mpn):
    MpnIdFactory(partner=mpn.partner, mpn_id="9990001", osa_sell=False, osu_m365=False, osu_bizapps=False)
    own(mpn, status=ClaimStatus.UNDER_REVIEW)
    client.force_login(incentives_admin)
    page = client.get(reverse("claims:overview")).content.decode()
    assert "1112223" in page and "OSU-BizApps" in page
    assert "9990001" in page and "Not enrolled" in page
    assert "?status=under_review" in page
    assert reverse("claims:list") in page


def test_list_page_shows_the_seed_labels_and_the_partners_claims(client, incentives_admin, claim):
    ClaimFactory(name="Not mine")
    client.force_login(incentives_admin)
    response = client.get(reverse("claims:list"))
    page = response.content.decode()
    assert "+ Customer association" in page
    assert reverse("claims:new") in page
    assert "Contoso Sales" in page and "Not mine" not in page
    assert claim.domain in page and claim.tenant.name in page
    assert "Under review" in page


def test_billing_admin_sees_the_list_without_the_new_claim_button(client, partner, claim):
    client.force_login(partner_user(partner, Role.BILLING_ADMIN))
    page = client.get(reverse("claims:list")).content.decode()
    assert "Contoso Sales" in page
    assert reverse("claims:new") not in page


def test_list_search_filters_and_sort_come_from_the_query_string(client, incentives_admin, mpn):
    own(mpn, name="Alpha", status=ClaimStatus.APPROVED)
    own(mpn, name="Beta", status=ClaimStatus.APPROVED)
    own(mpn, name="Gamma", status=ClaimStatus.DRAFT)
    client.force_login(incentives_admin)
    response = client.get(reverse("claims:list"), {"status": "approved", "sort": "-name"})
    names = [claim.name for claim, _, _ in response.context["rows"]]
    assert names == ["Beta", "Alpha"]
    response = client.get(reverse("claims:list"), {"q": "gam"})
    assert [claim.name for claim, _, _ in response.context["rows"]] == ["Gamma"]


def test_bad_filter_values_are_ignored_not_a_crash(client, incentives_admin, claim, mpn):
    own(mpn, name="Other")
    client.force_login(incentives_admin)
    response = client.get(
        reverse("claims:list"), {"status": "hacked", "page": "999", "sort": "password", "q": "Contoso"}
    )
    assert response.status_code == 200
    assert [row[0] for row in response.context["rows"]] == [claim]


def test_list_column_headers_are_in_each_readers_language(client, incentives_admin, claim):
    client.force_login(incentives_admin)
    assert client.get(reverse("claims:list")).context["columns"][0]["label"] == "Claim ID"
    incentives_admin.language = "fr"
    incentives_admin.save()

    columns = client.get(reverse("claims:list")).context["columns"]

    assert [column["label"] for column in columns][:2] == ["ID de revendication", "Nom"]


def test_list_page_queries_do_not_grow_with_the_number_of_claims(client, incentives_admin, mpn):
    client.force_login(incentives_admin)

    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("claims:list"))
        assert response.status_code == 200
        return len(queries), len(response.context["rows"])

    for _ in range(5):
        SubscriptionItemFactory(claim=own(mpn))
    small = count_queries()
    for index in range(45):
        claim = own(mpn, solution_area=SolutionArea.MICROSOFT_365, tenant=TenantFactory())
        WorkloadItemFactory(claim=claim)
        if index % 2:
            SubscriptionItemFactory(claim=own(mpn, activity=Activity.USAGE_PRESALES))
    large = count_queries()
    assert (small[1], large[1]) == (5, 50)
    assert small[0] == large[0]


def test_export_is_the_filtered_list_as_csv(client, incentives_admin, mpn, claim):
    own(mpn, name="=HYPERLINK(evil)", status=ClaimStatus.APPROVED)
    ClaimFactory(name="Not mine", status=ClaimStatus.UNDER_REVIEW)
    client.force_login(incentives_admin)
    response = client.get(reverse("claims:export"), {"status": "under_review"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["Claim ID", "Name", "MPN ID"]
    assert rows[0][-3:] == ["Created (UTC)", "Submitted (UTC)", "Opt-out deadline (UTC)"]
    assert [row[1] for row in rows[1:]] == ["Contoso Sales"]
    assert "pending" in rows[1][8].lower()
    everything = client.get(reverse("claims:export"))
    text = b"".join(everything.streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK(evil)" in text and "Not mine" not in text


# --- Claim page ----------------------------------------------------------------------------


def test_claim_page_shows_status_meaning_next_step_and_deadline(client, incentives_admin, claim):
    import datetime

    from django.utils import timezone

    claim.opt_out_deadline = timezone.now() + datetime.timedelta(days=5)
    claim.save()
    client.force_login(incentives_admin)
    response = client.get(reverse("claims:detail", args=[claim.pk]))
    page = response.content.decode()
    assert "Under review" in page
    assert "reviewers are verifying your proof of execution" in page
    assert "The customer can opt out until" in page
    assert "History" in page and 'id="history"' in page


@pytest.mark.parametrize("status", ClaimStatus.values)
def test_every_status_has_a_meaning_and_a_next_step_on_the_claim_page(client, incentives_admin, mpn, status):
    claim = own(mpn, status=status)
    client.force_login(incentives_admin)
    response = client.get(reverse("claims:detail", args=[claim.pk]))
    assert response.status_code == 200
    assert response.context["status"].meaning and response.context["status"].next_step


def test_claim_page_shows_items_grouped_with_each_programmes_outcome(client, incentives_admin, mpn):
    claim = own(mpn, status=ClaimStatus.UNDER_REVIEW, activity=Activity.USAGE_PRESALES)
    usage = SubscriptionItemFactory(claim=claim, program="OSU-BizApps")
    SubscriptionItemFactory(claim=claim, program="OSA-Sell", subscription=usage.subscription, outcome="contested")
    client.force_login(incentives_admin)
    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert page.count(str(usage.subscription.subscription_id)) == 1
    assert "OSU-BizApps" in page and "OSA-Sell" in page and "Contested" in page
    assert "goes to arbitration" in page


HOSTILE = "<script>alert('x')</script> & \"q\""
SHOWN = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;q&quot;"


def test_the_claims_fields_and_items_escape_what_people_typed(client, incentives_admin, mpn):
    from tenants.tests.factories import ProductFactory

    claim = own(
        mpn,
        status=ClaimStatus.UNDER_REVIEW,
        activity=Activity.REVENUE,
        name=HOSTILE,
        tenant=TenantFactory(name=HOSTILE),
        solution_seller_name=HOSTILE,
        customer_contact_name=HOSTILE,
        partner_contact_name="P & Q",
    )
    SubscriptionItemFactory(claim=claim, program="", product=ProductFactory(name=HOSTILE))
    client.force_login(incentives_admin)

    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()

    fields = page.split('<dl class="row mb-0 claim-fields">')[1].split("</dl>")[0]
    assert f'<dt class="col-sm-4">Name</dt><dd class="col-sm-8" data-testid="claim-name">{SHOWN}</dd>' in fields
    assert f'<dt class="col-sm-4">Customer</dt><dd class="col-sm-8">{SHOWN}</dd>' in fields
    assert f'<dt class="col-sm-4">Dynamics solution seller name</dt><dd class="col-sm-8">{SHOWN}</dd>' in fields
    assert f'<dd class="col-sm-8">{SHOWN}, CIO · ada@' in fields
    assert 'Your company\'s contact</dt><dd class="col-sm-8">P &amp; Q · ' in fields
    items = page.split('id="claim-items">')[1].split("</table>")[0]
    assert f'<td rowspan="1">{SHOWN}</td>' in items
    assert "<td>None (revenue association)</td><td>Pending<div" in items
    assert "<script>alert" not in page


def test_the_claims_fields_items_and_history_read_in_french(client, partner, mpn):
    claim = own(
        mpn,
        status=ClaimStatus.UNDER_REVIEW,
        solution_area=SolutionArea.MICROSOFT_365,
        tenant=TenantFactory(name=""),  # a customer without a name yet
    )
    WorkloadItemFactory(claim=claim, outcome="contested")
    ClaimEvent.objects.create(claim=claim, action="submitted", from_status="draft", to_status="submitted")
    english = partner_user(partner, Role.BILLING_ADMIN)
    french = partner_user(partner, Role.BILLING_ADMIN, language="fr")
    url = reverse("claims:detail", args=[claim.pk])

    client.force_login(english)
    page = client.get(url).content.decode()
    assert '<dt class="col-sm-4">Customer</dt><dd class="col-sm-8">—</dd>' in page
    assert '<th scope="col">Workload</th><th scope="col">Programme</th>' in page
    assert "Subscription ID" not in page
    client.force_login(french)
    page = client.get(url).content.decode()

    assert '<dt class="col-sm-4">ID de revendication</dt><dd class="col-sm-8">#' in page
    assert '<dd class="col-sm-8">Microsoft 365</dd>' in page and "Activité</dt>" in page
    assert '<th scope="col">Charge de travail</th><th scope="col">Programme</th><th scope="col">Résultat</th>' in page
    assert "<td>OSU-M365</td><td>Contesté<div" in page
    assert '<th scope="col">Heure</th><th scope="col">Par</th>' in page and "Modification</th>" in page
    assert 'data-status="under_review">En cours d’examen</span>' in page
    assert 'data-testid="status-meaning">La revendication a passé la validation' in page


def test_the_sections_menu_names_products_or_workloads_in_the_readers_language(client, partner, mpn):
    products = own(mpn, status=ClaimStatus.UNDER_REVIEW)
    workloads = own(mpn, status=ClaimStatus.UNDER_REVIEW, solution_area=SolutionArea.MICROSOFT_365)
    menu = '<a class="nav-link" href="#items">{}</a>'
    for language, words in (("en", ("Products", "Workloads")), ("fr", ("Produits", "Charges de travail"))):
        client.force_login(partner_user(partner, Role.BILLING_ADMIN, language=language))
        for claim, word in zip((products, workloads, products), (*words, words[0]), strict=True):
            page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
            assert menu.format(word) in page
            assert f'<h2 class="h5" id="items-heading">{word}</h2>' in page


def test_a_claim_without_items_or_history_says_so(client, incentives_admin, mpn):
    claim = own(mpn, status=ClaimStatus.DRAFT)
    client.force_login(incentives_admin)

    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()

    assert '<td colspan="4" class="text-body-secondary">No products or workloads selected yet.</td>' in page
    assert 'id="history-table"' not in page


def test_the_list_names_each_product_with_its_subscription_id_as_the_tooltip(client, incentives_admin, mpn):
    claim = own(mpn, status=ClaimStatus.UNDER_REVIEW)
    item = SubscriptionItemFactory(claim=claim)
    client.force_login(incentives_admin)
    page = client.get(reverse("claims:list")).content.decode()
    guid = str(item.subscription.subscription_id)
    assert f'<div title="{guid}">{item.subscription.product.name}</div>' in page
    assert page.count(guid) == 1  # in the tooltip only: a GUID would take three lines of the column


def test_validation_failed_shows_the_reasons_in_the_seeds_words(client, incentives_admin, mpn):
    claim = own(mpn, status=ClaimStatus.VALIDATION_FAILED, validation_errors=[{"code": "csp", "subject": "abc"}])
    client.force_login(incentives_admin)
    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert "abc: The subscription provided is for CSP." in page


def test_history_shows_every_event_with_time_actor_and_change(client, incentives_admin, claim):
    ClaimEvent.objects.create(
        claim=claim, actor=incentives_admin, action="submitted", from_status="draft", to_status="submitted"
    )
    ClaimEvent.objects.create(
        claim=claim,
        action="validated",
        from_status="submitted",
        to_status="under_review",
        data={"opt_out_deadline": "2026-12-01T22:59:59+00:00"},
    )
    ClaimEvent.objects.create(claim=claim, action="some_future_action")
    client.force_login(incentives_admin)
    response = client.get(reverse("claims:detail", args=[claim.pk]))
    page = response.content.decode()
    entries = response.context["events"]
    assert [entry["label"] for entry in entries] == ["Claim submitted", "Validation passed", "Some future action"]
    assert entries[0]["actor"] == incentives_admin.email and entries[1]["actor"] == "System"
    assert "Draft → Submitted" in page and "Submitted → Under review" in page
    assert "Opt-out deadline: Dec. 1, 2026" in page


def test_history_and_comments_escape_what_people_typed_and_keep_its_line_breaks(client, incentives_admin, claim):
    ClaimEvent.objects.create(
        claim=claim, action="submitted", from_status="draft", to_status="submitted", reason="<b>Because</b>"
    )
    Comment.objects.create(claim=claim, author=incentives_admin, body="<script>alert(1)</script>\r\nSecond & last")
    client.force_login(incentives_admin)

    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()

    history = page.split('id="history-table"')[1]
    assert (
        "<td>System</td><td>Claim submitted</td><td><div>Draft → Submitted</div>"
        '<div class="small text-body-secondary">&lt;b&gt;Because&lt;/b&gt;</div></td></tr>'
    ) in history
    assert '<div class="comment-body">&lt;script&gt;alert(1)&lt;/script&gt;<br>Second &amp; last</div>' in page
    assert f'<div class="small text-body-secondary">{incentives_admin.email} · ' in page
    assert "<script>alert" not in page and "<b>Because" not in page


def test_history_and_comments_read_in_french(client, partner, claim):
    ClaimEvent.objects.create(claim=claim, action="submitted", from_status="draft", to_status="submitted")
    Comment.objects.create(claim=claim, author=UserFactory(is_staff=True), body="Merci")
    client.force_login(partner_user(partner, Role.BILLING_ADMIN, language="fr"))

    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()

    assert "<td>Système</td><td>Revendication envoyée</td><td><div>Brouillon → Soumise</div></td>" in page
    assert '<div class="small text-body-secondary">Réviseur · ' in page
    assert '<div class="comment-body">Merci</div>' in page


def test_the_claim_page_costs_the_same_queries_however_long_its_history(client, incentives_admin, claim):
    client.force_login(incentives_admin)
    url = reverse("claims:detail", args=[claim.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as short:
        client.get(url)
    for number in range(10):
        ClaimEvent.objects.create(claim=claim, actor=incentives_admin, action="comment_added")
        Comment.objects.create(claim=claim, author=UserFactory(), body=f"Comment {number}")
    with CaptureQueriesContext(connection) as long:
        page = client.get(url).content.decode()

    assert page.count('class="card mb-2 comment"') == 10
    assert len(long) == len(short)


def test_every_time_on_the_claim_page_names_its_zone(client, incentives_admin, claim):
    import datetime
    import re

    from django.utils import timezone

    moment = timezone.make_aware(datetime.datetime(2026, 11, 23, 9, 30), datetime.UTC)
    deadline = timezone.make_aware(datetime.datetime(2026, 11, 30, 22, 59, 59), datetime.UTC)
    claim.submitted_at = claim.notified_at = moment
    claim.opt_out_deadline = claim.review_due_at = deadline
    claim.save()
    claim.tenant.time_zone = "America/New_York"
    claim.tenant.save()
    ClaimEvent.objects.create(
        claim=claim,
        action="validated",
        from_status="submitted",
        to_status="under_review",
        data={"opt_out_deadline": deadline.isoformat()},
    )
    client.force_login(incentives_admin)

    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()

    # What happened is in the reader's zone (UTC: users have none of their own)...
    assert 'Submitted</dt><dd class="col-sm-8">Nov. 23, 2026, 9:30 a.m. (UTC)' in page
    assert 'Customer notified</dt><dd class="col-sm-8">Nov. 23, 2026, 9:30 a.m. (UTC)' in page
    history_time = re.search(r'<td class="text-nowrap">([^<]+)</td>', page.split('id="history-table"')[1]).group(1)
    assert history_time.endswith("(UTC)")
    # ...what the customer's business days set is in the customer's zone, wherever it is shown.
    assert 'data-testid="opt-out-deadline">Nov. 30, 2026, 5:59 p.m. (America/New_York)' in page
    assert 'data-testid="review-due">Nov. 30, 2026, 5:59 p.m. (America/New_York)' in page
    assert "Opt-out deadline: Nov. 30, 2026, 5:59 p.m. (America/New_York)" in page


def test_history_gives_validation_reasons_in_the_readers_language(client, partner, mpn):
    claim = own(mpn, status=ClaimStatus.VALIDATION_FAILED)
    ClaimEvent.objects.create(
        claim=claim,
        action="validation_failed",
        from_status="submitted",
        to_status="validation_failed",
        reason="The subscription provided is for CSP. (worker's language)",
        data={"problems": [{"code": "csp", "subject": "abc"}]},
    )
    client.force_login(partner_user(partner, Role.BILLING_ADMIN, language="fr"))
    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert "abc : " not in page  # the subject stays as stored
    assert "abc: L’abonnement fourni est destiné aux fournisseurs de solutions cloud (CSP)." in page
    assert "worker&#x27;s language" not in page
    assert "Échec de la validation" in page


def test_history_hides_the_events_of_internal_notes_from_partners(client, incentives_admin, claim):
    reviewer = UserFactory(is_staff=True, is_superuser=True)
    note = Comment.objects.create(claim=claim, author=reviewer, body="Competitor stronger", is_internal=True)
    ClaimEvent.objects.create(
        claim=claim, actor=reviewer, action="reviewer_comment", data={"comment": note.pk, "internal": True}
    )
    shown = Comment.objects.create(claim=claim, author=reviewer, body="Please send the SoW.")
    ClaimEvent.objects.create(
        claim=claim, actor=reviewer, action="reviewer_comment", data={"comment": shown.pk, "internal": False}
    )
    client.force_login(incentives_admin)
    entries = client.get(reverse("claims:detail", args=[claim.pk])).context["events"]
    assert [(entry["label"], entry["actor"]) for entry in entries] == [("Reviewer commented", "Reviewer")]


def test_internal_notes_never_reach_the_partners_claim_page(client, incentives_admin, claim):
    reviewer = UserFactory(is_staff=True, is_superuser=True)
    Comment.objects.create(claim=claim, author=reviewer, body="Please send the signed SoW.")
    Comment.objects.create(claim=claim, author=reviewer, body="SECRET internal note", is_internal=True)
    client.force_login(incentives_admin)
    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert "Please send the signed SoW." in page
    assert "SECRET" not in page
    assert reviewer.email not in page


def test_a_comment_posted_on_the_claim_page_answers_a_request(client, incentives_admin, mpn):
    claim = own(mpn, status=ClaimStatus.ACTION_REQUIRED)
    client.force_login(incentives_admin)
    response = client.post(reverse("claims:comment", args=[claim.pk]), {"body": "Here is the detail."}, follow=True)
    assert "Your comment has been saved." in response.content.decode()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.UNDER_REVIEW
    assert claim.comments.get().body == "Here is the detail."


def test_an_empty_comment_is_refused_with_a_message(client, incentives_admin, claim):
    client.force_login(incentives_admin)
    response = client.post(reverse("claims:comment", args=[claim.pk]), {"body": "  "}, follow=True)
    assert "Write a comment first." in response.content.decode()
    assert not claim.comments.exists()


def test_more_poe_when_a_reviewer_asks(client, incentives_admin, mpn):
    claim = own(mpn, status=ClaimStatus.ACTION_REQUIRED)
    client.force_login(incentives_admin)
    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert "poe-upload" in page
    assert '<label for="id_files" class="form-label requiredField">Proof of execution (PoE)' in page
    assert (
        '<input type="file" name="files" class="form-control" accept=".pdf,.docx,.xlsx,.png,.jpg,.jpeg" multiple'
        ' id="id_files" required aria-describedby="id_files_helptext">'
    ) in page
    client.post(reverse("claims:proof_add", args=[claim.pk]), {"files": SimpleUploadedFile("more.pdf", PDF_BYTES)})
    claim.refresh_from_db()
    assert claim.proofs.count() == 1 and claim.status == ClaimStatus.UNDER_REVIEW


def test_no_poe_after_submission_unless_a_reviewer_asks(client, incentives_admin, claim):
    client.force_login(incentives_admin)
    assert "poe-upload" not in client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    response = client.post(
        reverse("claims:proof_add", args=[claim.pk]), {"files": SimpleUploadedFile("more.pdf", PDF_BYTES)}, follow=True
    )
    assert "only when a reviewer asks" in response.content.decode()
    assert not claim.proofs.exists()


# --- Files ---------------------------------------------------------------------------------


def test_a_poe_file_is_served_as_an_attachment_under_its_own_name(client, partner, claim):
    proof = ProofFactory(claim=claim, original_name="Signed SoW.pdf")
    client.force_login(partner_user(partner, Role.BILLING_ADMIN))
    response = client.get(reverse("claims:proof_download", args=[proof.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    assert "Signed SoW.pdf" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == PDF_BYTES


def test_the_template_is_a_real_word_document_in_the_users_language(client, incentives_admin):
    import zipfile

    client.force_login(incentives_admin)
    english = b"".join(client.get(reverse("claims:proof_template")).streaming_content)
    with zipfile.ZipFile(io.BytesIO(english)) as archive:
        document = archive.read("word/document.xml").decode()
    assert "Proof of execution" in document and "MPN ID" in document and "signature" in document
    client.cookies["django_language"] = "fr"
    french = client.get(reverse("claims:proof_template"))
    assert french["Content-Type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    with zipfile.ZipFile(io.BytesIO(b"".join(french.streaming_content))) as archive:
        assert "Preuve d’exécution" in archive.read("word/document.xml").decode()
