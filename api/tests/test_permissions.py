"""The API's permission matrix: no key or a bad one is 401, another partner's claim is 404
exactly like a missing one, a role that may not act is 403, and nothing changes in any of
these cases."""

import pytest

from claims.models import Claim, ClaimStatus, Comment
from claims.tests.factories import ClaimFactory, SubscriptionItemFactory
from cpor.models import Role
from cpor.tests.factories import MpnIdFactory, PartnerFactory, partner_user

pytestmark = pytest.mark.django_db


def claim_urls(pk):
    """Every claim endpoint, with the method that uses it."""
    base = f"/api/v1/claims/{pk}/"
    return [
        ("get", base),
        ("put", base),
        ("delete", base),
        ("get", f"{base}item-options/"),
        ("put", f"{base}items/"),
        ("put", f"{base}contacts/"),
        ("post", f"{base}proofs/"),
        ("delete", f"{base}proofs/1/"),
        ("post", f"{base}comments/"),
        ("post", f"{base}submit/"),
    ]


def every_url(pk):
    return (
        [("get", "/api/v1/claims/"), ("post", "/api/v1/claims/"), ("get", "/api/v1/usage/")]
        + [("get", "/api/v1/mpn-ids/")]
        + claim_urls(pk)
    )


WRITES = [(method, url) for method, url in claim_urls("{pk}") if method != "get"] + [("post", "/api/v1/claims/")]


@pytest.fixture
def own_draft(partner):
    claim = ClaimFactory(mpn=MpnIdFactory(partner=partner))
    SubscriptionItemFactory(claim=claim)
    return claim


@pytest.fixture
def their_draft():
    claim = ClaimFactory(mpn=MpnIdFactory(partner=PartnerFactory()))
    SubscriptionItemFactory(claim=claim)
    return claim


def call(client, method, url, data=None):
    return getattr(client, method)(url, data or {}, format="json")


@pytest.mark.parametrize("method,url", every_url(1))
def test_without_a_key_every_endpoint_answers_401(api, method, url):
    answer = call(api(), method, url)
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("key", ["nonsense", "cpor_abc", "cpor_0123456789ab_" + "x" * 43, "Bearer"])
def test_an_unknown_key_answers_401(api, key):
    assert api(key).get("/api/v1/claims/").status_code == 401


def test_a_signed_in_browser_session_is_not_an_api_key(client, login, incentives_admin):
    login(incentives_admin)
    assert client.get("/api/v1/claims/").status_code == 401


def test_a_revoked_key_answers_401_on_every_endpoint(api, make_key, global_admin, own_draft):
    from api import services
    from api.models import ApiKey

    secret = make_key(Role.INCENTIVES_ADMIN)
    services.api_key_revoke(actor=global_admin, key_id=ApiKey.objects.get().pk)
    for method, url in every_url(own_draft.pk):
        assert call(api(secret), method, url).status_code == 401, url
    assert not Comment.objects.exists()
    own_draft.refresh_from_db()
    assert own_draft.status == ClaimStatus.DRAFT


def test_another_partners_claim_is_404_like_a_missing_one(filer, their_draft):
    missing = Claim.objects.order_by("-pk").first().pk + 1000
    for pk in (their_draft.pk, missing):
        for method, url in claim_urls(pk):
            answer = call(filer, method, url, {"body": "Mine now"})
            assert answer.status_code == 404, (method, url)
            assert answer.json() == {"detail": "Not found."}
    their_draft.refresh_from_db()
    assert their_draft.status == ClaimStatus.DRAFT
    assert not Comment.objects.exists()


def test_another_partners_claim_is_not_listed_nor_its_usage_readable(filer, their_draft):
    assert filer.get("/api/v1/claims/").json()["results"] == []
    assert filer.get(f"/api/v1/usage/?claim={their_draft.pk}").status_code == 404
    assert filer.get(f"/api/v1/claims/?q={their_draft.pk}").json()["results"] == []


@pytest.mark.parametrize("role", [Role.INCENTIVES_USER, Role.BILLING_ADMIN, Role.GLOBAL_ADMIN])
def test_a_role_that_may_not_file_claims_reads_but_any_write_is_403(api, make_key, role, own_draft):
    reader = api(make_key(role))
    assert reader.get("/api/v1/claims/").json()["results"][0]["id"] == own_draft.pk
    assert reader.get(f"/api/v1/claims/{own_draft.pk}/").status_code == 200
    assert reader.get("/api/v1/usage/").status_code == 200
    for method, url in WRITES:
        answer = call(reader, method, url.format(pk=own_draft.pk), {"body": "Hello"})
        assert answer.status_code == 403, url
        assert answer.json() == {"detail": "Your API key's role may not do this."}
    own_draft.refresh_from_db()
    assert own_draft.status == ClaimStatus.DRAFT
    assert not Comment.objects.exists()
    assert Claim.objects.count() == 1


def test_the_403_is_in_the_key_owners_language(api, make_key, global_admin, own_draft):
    global_admin.language = "fr"
    global_admin.save(update_fields=["language"])
    answer = api(make_key(Role.INCENTIVES_USER)).post(f"/api/v1/claims/{own_draft.pk}/submit/")
    assert answer.status_code == 403
    assert answer.json() == {"detail": "Le rôle de votre clé d’API ne permet pas de faire cela."}
    assert answer["Content-Language"] == "fr"


def test_a_key_never_acts_for_another_partner_even_if_its_creator_moved(api, make_key, global_admin, their_draft):
    """A key belongs to its partner: its creator's membership elsewhere gives it nothing."""
    secret = make_key(Role.INCENTIVES_ADMIN)
    membership = global_admin.membership
    membership.partner = their_draft.partner
    membership.save(update_fields=["partner"])
    assert api(secret).get(f"/api/v1/claims/{their_draft.pk}/").status_code == 401


def test_an_incentives_admin_user_without_a_key_gets_nothing(api, partner):
    partner_user(partner, Role.INCENTIVES_ADMIN)
    assert api().get("/api/v1/claims/").status_code == 401
