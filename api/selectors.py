"""Reads of API keys: the Global admin's list, and the lookup a request's key goes through."""

from __future__ import annotations

import hmac

from django.db.models import QuerySet
from django.http import Http404

from cpor import access

from .models import ApiKey
from .services import KEY_PREFIX, secret_digest


def api_keys_of(user) -> QuerySet[ApiKey]:
    """The user's partner's keys, active ones first, newest first."""
    partner = access.partner_of(user)
    if partner is None:
        return ApiKey.objects.none()
    return (
        ApiKey.objects.filter(partner=partner)
        .select_related("created_by__membership", "revoked_by")
        .order_by("-revoked_at", "-created_at", "-id")
    )


def api_key_get_for_user(user, pk) -> ApiKey:
    """One key of the user's partner; another partner's, or none, is a 404."""
    key = api_keys_of(user).filter(pk=pk).first()
    if key is None:
        raise Http404
    return key


def api_key_for_secret(raw_key: str) -> ApiKey | None:
    """The key this secret belongs to (revoked or not), or None. The row is found by the
    visible prefix; the secret is then compared by its digest in constant time."""
    if not raw_key.startswith(KEY_PREFIX):
        return None
    prefix, _, secret = raw_key[len(KEY_PREFIX) :].partition("_")
    if not prefix or not secret or len(prefix) > 16:
        return None
    key = ApiKey.objects.select_related("partner", "created_by__membership").filter(prefix=prefix).first()
    digest = secret_digest(raw_key)
    if key is None:
        hmac.compare_digest(digest, digest)  # the same work either way
        return None
    return key if hmac.compare_digest(key.secret_sha256, digest) else None


def creator_may_act(key: ApiKey) -> bool:
    """A key works only while its creator is an active Global admin of the key's partner."""
    user = key.created_by
    membership = access.membership_of(user)
    return membership is not None and membership.partner_id == key.partner_id and membership.role in access.MANAGE_USERS
