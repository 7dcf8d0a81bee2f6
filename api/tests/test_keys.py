"""API keys (api.services, api.key_views): the partner's Global admin creates, names,
scopes and revokes them on the site; a key is shown once, stored as a hash, and its last
use is shown."""

import datetime
import hashlib

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from api import services
from api.models import ApiKey
from cpor import services as account_services
from cpor.models import Role
from cpor.tests.factories import PartnerFactory, partner_user

pytestmark = pytest.mark.django_db

KEYS = reverse("api_keys:list")
ME = "/api/v1/mpn-ids/"


def test_only_a_global_admin_opens_the_api_keys_page(client, login, partner, global_admin):
    assert client.get(KEYS).status_code == 302  # anonymous: sign in first
    for role in (Role.INCENTIVES_ADMIN, Role.INCENTIVES_USER, Role.BILLING_ADMIN):
        login(partner_user(partner, role))
        assert client.get(KEYS).status_code == 403
        assert client.post(KEYS, {"name": "CRM", "role": Role.INCENTIVES_ADMIN}).status_code == 403
    assert not ApiKey.objects.exists()
    login(global_admin)
    page = client.get(KEYS)
    assert page.status_code == 200
    assert reverse("api:docs").encode() in page.content


def test_the_navigation_offers_api_keys_to_the_global_admin_only(client, login, partner, global_admin):
    login(partner_user(partner, Role.INCENTIVES_ADMIN))
    assert KEYS.encode() not in client.get(reverse("claims:overview")).content
    login(global_admin)
    assert KEYS.encode() in client.get(reverse("claims:overview")).content


def test_a_new_key_is_shown_once_and_stored_only_as_a_hash(client, login, global_admin, api):
    login(global_admin)
    created = client.post(KEYS, {"name": "CRM sync", "role": Role.INCENTIVES_ADMIN})
    assert created.status_code == 201
    assert created["Cache-Control"] == "no-store"
    secret = created.context["secret"]
    assert secret.startswith("cpor_") and len(secret) > 50
    assert secret.encode() in created.content
    key = ApiKey.objects.get()
    assert (key.name, key.role, key.partner, key.created_by) == (
        "CRM sync",
        Role.INCENTIVES_ADMIN,
        global_admin.membership.partner,
        global_admin,
    )
    assert key.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiKey.objects.values().get())
    # Never shown again: the list shows the visible prefix only.
    page = client.get(KEYS)
    assert secret.encode() not in page.content
    assert f"cpor_{key.prefix}_".encode() in page.content
    assert api(secret).get(ME).status_code == 200


def test_a_key_with_a_wrong_secret_but_a_real_prefix_is_refused(global_admin, api):
    key, secret = services.api_key_create(actor=global_admin, name="CRM", role=Role.INCENTIVES_ADMIN)
    forged = f"cpor_{key.prefix}_{'A' * 43}"
    answer = api(forged).get(ME)
    assert answer.status_code == 401
    assert answer.json() == {"detail": "Invalid API key."}


def test_revoking_a_key_makes_it_answer_401_and_changes_nothing_else(client, login, global_admin, make_key, api):
    secret = make_key(name="CRM")
    other = make_key(name="Scripts")
    key = ApiKey.objects.get(name="CRM")
    login(global_admin)
    answer = client.post(reverse("api_keys:revoke", args=[key.pk]), follow=True)
    assert "is revoked" in answer.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_by == global_admin
    refused = api(secret).get(ME)
    assert refused.status_code == 401
    assert refused.json() == {"detail": "This API key has been revoked."}
    assert refused["WWW-Authenticate"].startswith("Bearer")
    assert api(other).get(ME).status_code == 200
    # Revoking twice is told, and changes nothing.
    revoked_at = key.revoked_at
    again = client.post(reverse("api_keys:revoke", args=[key.pk]), follow=True)
    assert "already revoked" in again.content.decode()
    key.refresh_from_db()
    assert key.revoked_at == revoked_at


def test_another_partners_key_cannot_be_revoked_404(client, login, global_admin):
    stranger = partner_user(PartnerFactory(), Role.GLOBAL_ADMIN)
    theirs, _ = services.api_key_create(actor=stranger, name="Theirs", role=Role.INCENTIVES_ADMIN)
    login(global_admin)
    assert client.post(reverse("api_keys:revoke", args=[theirs.pk])).status_code == 404
    assert b"Theirs" not in client.get(KEYS).content
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_a_key_name_is_unique_among_the_partners_active_keys_in_english_and_french(client, login, global_admin):
    services.api_key_create(actor=global_admin, name="CRM", role=Role.INCENTIVES_USER)
    login(global_admin)
    refused = client.post(KEYS, {"name": "crm", "role": Role.INCENTIVES_ADMIN})
    assert refused.status_code == 400
    assert "Another key of your organisation already has this name." in refused.content.decode()
    account_services.user_set_language(user=global_admin, language="fr")
    refused = client.post(KEYS, {"name": "crm", "role": Role.INCENTIVES_ADMIN})
    assert "Une autre clé de votre organisation porte déjà ce nom." in refused.content.decode()
    assert ApiKey.objects.count() == 1


def test_api_keys_page_in_french(client, login, global_admin):
    account_services.user_set_language(user=global_admin, language="fr")
    login(global_admin)
    page = client.get(KEYS).content.decode()
    assert "Clés d’API" in page
    assert "Créer une clé" in page
    created = client.post(KEYS, {"name": "CRM", "role": Role.INCENTIVES_USER}).content.decode()
    assert "Copiez-la maintenant" in created


def test_the_last_use_is_recorded_at_most_once_a_minute(global_admin, api, django_assert_num_queries):
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        key, secret = services.api_key_create(actor=global_admin, name="CRM", role=Role.INCENTIVES_USER)
        assert key.last_used_at is None
        api(secret).get(ME)
    key.refresh_from_db()
    assert key.last_used_at == start
    with time_machine.travel(start + datetime.timedelta(seconds=30), tick=False):
        api(secret).get(ME)
    key.refresh_from_db()
    assert key.last_used_at == start
    later = start + datetime.timedelta(seconds=61)
    with time_machine.travel(later, tick=False):
        api(secret).get(ME)
    key.refresh_from_db()
    assert key.last_used_at == later


def test_marking_a_key_used_within_the_minute_costs_no_query(global_admin, django_assert_num_queries):
    key, _ = services.api_key_create(actor=global_admin, name="CRM", role=Role.INCENTIVES_USER)
    now = timezone.now()
    services.api_key_mark_used(key, now=now)
    with django_assert_num_queries(0):
        services.api_key_mark_used(key, now=now + datetime.timedelta(seconds=59))


@pytest.mark.parametrize("change", ["deactivated", "demoted"])
def test_a_key_stops_working_when_its_creator_is_no_longer_an_active_global_admin(
    change, client, login, partner, global_admin, make_key, api
):
    secret = make_key(Role.INCENTIVES_ADMIN)
    other_admin = partner_user(partner, Role.GLOBAL_ADMIN)
    membership = global_admin.membership
    if change == "deactivated":
        account_services.user_deactivate(actor=other_admin, membership_id=membership.pk)
    else:
        account_services.membership_change_role(
            actor=other_admin, membership_id=membership.pk, role=Role.INCENTIVES_ADMIN
        )
    refused = api(secret).get(ME)
    assert refused.status_code == 401
    assert "no longer manages your organisation" in refused.json()["detail"]
    # The other Global admin sees why.
    login(other_admin)
    assert "Its creator is no longer an active Global admin" in client.get(KEYS).content.decode()


def test_only_a_global_admin_may_create_or_revoke_keys_in_the_service(partner, global_admin):
    from django.core.exceptions import PermissionDenied

    filer = partner_user(partner, Role.INCENTIVES_ADMIN)
    with pytest.raises(PermissionDenied):
        services.api_key_create(actor=filer, name="Mine", role=Role.INCENTIVES_ADMIN)
    key, _ = services.api_key_create(actor=global_admin, name="CRM", role=Role.INCENTIVES_ADMIN)
    with pytest.raises(PermissionDenied):
        services.api_key_revoke(actor=filer, key_id=key.pk)
    key.refresh_from_db()
    assert key.revoked_at is None
