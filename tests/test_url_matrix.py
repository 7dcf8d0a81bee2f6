"""The permission matrix of every URL of the URLconf (issue 7, section 6).

Every pattern of `cpor.urls`, the admin's included, must be classified in `MATRIX` below: a
new URL fails `test_every_url_is_classified` until somebody decides who may use it. Each
classified URL is then walked as:

- an anonymous visitor (sent to the sign-in page, the admin's for the admin);
- a user of another partner with a role that may use the page, on this partner's object
  (404, exactly like a missing object);
- every partner role (403 for the roles that may not; the others are served);
- a reviewer (vendor staff in the Reviewers group) and a staff user who is not a reviewer
  (both 403 on the partner site; only the reviewer reaches the reviewers' admin pages).
"""

from __future__ import annotations

import datetime
import itertools
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from api import services as api_services
from bulk.models import BulkUpload
from claims import notices
from claims.models import Claim, ClaimEvent, Comment, CustomerEmail, ItemOutcome
from claims.tests.factories import ClaimFactory, ProofFactory, SubscriptionItemFactory
from claims.tests.test_review import make_reviewer, put_approved, put_under_review
from cpor import access
from cpor.models import Role
from cpor.tests.factories import MpnIdFactory, PartnerFactory, UserFactory, partner_user
from notifications import services as notifications
from notifications.models import Notification, PartnerEmail
from tenants.models import LegacyAssociation, Usage
from tenants.tests.factories import WorkloadFactory
from webhooks.models import WebhookEndpoint, WebhookMessage

pytestmark = pytest.mark.django_db

ALL_ROLES = frozenset(Role)
MISSING = 999_999_999

# --- The classification ---------------------------------------------------------------------


@dataclass(frozen=True)
class Public:
    """Anyone may use it (signing in, password reset, the customer's opt-out link): it must
    simply never fail, whoever asks."""

    methods: tuple[str, ...] = ("get",)
    kwargs: object = None  # world -> dict


@dataclass(frozen=True)
class Partner:
    """The partner site: signed-in partner users with one of `roles`; `obj` names the
    partner-owned object in the URL (another partner's answers 404)."""

    roles: frozenset = ALL_ROLES
    methods: tuple[str, ...] = ("get",)
    kwargs: object = None  # (world, user) -> dict
    data: dict = field(default_factory=dict)

    @property
    def has_object(self):
        return self.kwargs is not None


@dataclass(frozen=True)
class Admin:
    """The Django admin: staff only. `reviewer` and `staff` say what a reviewer and a staff
    user who is not a reviewer get: "served", "refused" (403, or the admin's 404 for an
    app it hides), or "either" where the rule is another part's to decide."""

    reviewer: str = "served"
    staff: str = "refused"
    methods: tuple[str, ...] = ("get",)
    kwargs: object = None  # world -> dict
    path: object = None  # world -> str, for the admin's unnamed patterns


@dataclass(frozen=True)
class Api:
    """The REST API: an API key only, never a session (so no cross-site request can use
    it). `roles` maps each method to the key roles that may use it; `obj` as for Partner."""

    roles: dict
    kwargs: object = None  # world -> dict

    @property
    def has_object(self):
        return self.kwargs is not None


def _claim(world, user=None):
    return {"pk": world.claim.pk}


def _draft(world, user=None):
    return {"pk": world.draft.pk}


def _member(world, user=None):
    return {"pk": world.member.membership.pk}


def _token(world):
    return {"uidb64": "MQ", "token": "set-password"}


FILE = access.FILE_CLAIMS
MANAGE = access.MANAGE_USERS

PARTNER_SITE = {
    # Public: signing in and out, passwords, invitations, the language, the opt-out link.
    "home": Public(),
    "login": Public(("get", "post")),
    "logout": Public(("post",)),
    "password_reset": Public(("get", "post")),
    "password_reset_done": Public(),
    "password_reset_confirm": Public(kwargs=_token),
    "password_reset_complete": Public(),
    "invitation_accept": Public(kwargs=_token),
    "set_language": Public(("post",)),
    "optout": Public(kwargs=lambda world: {"token": notices.opt_out_token(world.under_review)}),
    # The partner's Users and MPN IDs pages.
    "team": Partner(MANAGE),
    "team_invite": Partner(MANAGE, ("post",)),
    "team_role": Partner(MANAGE, ("post",), _member),
    "team_deactivate": Partner(MANAGE, ("post",), _member),
    "team_reactivate": Partner(MANAGE, ("post",), _member),
    "team_resend_invitation": Partner(MANAGE, ("post",), _member),
    "mpn_ids": Partner(),
    "mpn_programs": Partner(MANAGE, ("post",), lambda world, user: {"pk": world.mpn.pk}),
    # Incentives: claims, files, reports.
    "claims:overview": Partner(),
    "claims:list": Partner(),
    "claims:export": Partner(),
    "claims:detail": Partner(ALL_ROLES, ("get",), _claim),
    "claims:comment": Partner(FILE, ("post",), _claim),
    "claims:proof_add": Partner(FILE, ("post",), _claim),
    "claims:dispute": Partner(FILE, ("post",), _claim),
    "claims:disassociate": Partner(FILE, ("post",), _claim),
    "claims:proof_download": Partner(ALL_ROLES, ("get",), lambda world, user: {"pk": world.proof.pk}),
    "claims:proof_template": Partner(),
    # The wizard: the Incentives admin only, on their partner's drafts.
    "claims:new": Partner(FILE, ("get", "post")),
    "claims:new_activity": Partner(FILE, ("get", "post")),
    "claims:new_associate": Partner(FILE, ("get", "post")),
    "claims:draft_details": Partner(FILE, ("get", "post"), _draft),
    "claims:draft_items": Partner(FILE, ("get", "post"), _draft),
    "claims:draft_contacts": Partner(FILE, ("get", "post"), _draft),
    "claims:draft_proof": Partner(FILE, ("get", "post"), _draft),
    "claims:draft_proof_remove": Partner(
        FILE, ("post",), lambda world, user: {"pk": world.draft.pk, "proof_pk": world.draft_proof.pk}
    ),
    "claims:draft_submit": Partner(FILE, ("get", "post"), _draft),
    "claims:submit": Partner(FILE, ("post",), _draft),
    "claims:draft_delete": Partner(FILE, ("get", "post"), _draft),
    # Usage data and legacy associations: every role.
    "claims:usage": Partner(),
    "claims:usage_csv": Partner(),
    "claims:reassociate": Partner(),
    # Notifications: each user's own.
    "notifications:list": Partner(),
    "notifications:open": Partner(
        ALL_ROLES,
        ("post",),
        lambda world, user: {"pk": Notification.objects.filter(user=user).values_list("pk", flat=True).first()},
    ),
    "notifications:mark_all_read": Partner(ALL_ROLES, ("post",)),
}

READ, WRITE = ALL_ROLES, FILE


def _api_draft(world):
    return {"pk": world.draft.pk}


PARTNER_SITE.update(
    {
        # The Global admin's API keys and webhooks.
        "api_keys:list": Partner(MANAGE, ("get", "post")),
        "api_keys:revoke": Partner(MANAGE, ("post",), lambda world, user: {"pk": world.api_key.pk}),
        "webhooks:list": Partner(MANAGE),
        "webhooks:create": Partner(MANAGE, ("get", "post")),
        "webhooks:detail": Partner(MANAGE, ("get",), lambda world, user: {"pk": world.endpoint.pk}),
        "webhooks:edit": Partner(MANAGE, ("get", "post"), lambda world, user: {"pk": world.endpoint.pk}),
        "webhooks:rotate_secret": Partner(MANAGE, ("post",), lambda world, user: {"pk": world.endpoint.pk}),
        "webhooks:redeliver": Partner(
            MANAGE, ("post",), lambda world, user: {"pk": world.endpoint.pk, "message_pk": world.message.pk}
        ),
        "webhooks:delete": Partner(MANAGE, ("post",), lambda world, user: {"pk": world.endpoint.pk}),
        # Bulk claims: the Incentives admin.
        "bulk:list": Partner(FILE, ("get", "post")),
        "bulk:template": Partner(FILE),
        "bulk:poe_zip": Partner(FILE, ("get", "post")),
        "bulk:detail": Partner(FILE, ("get",), lambda world, user: {"pk": world.upload.pk}),
        "bulk:progress": Partner(FILE, ("get",), lambda world, user: {"pk": world.upload.pk}),
        "bulk:errors": Partner(FILE, ("get",), lambda world, user: {"pk": world.upload.pk}),
        # The REST API and its description.
        "api:schema": Public(),
        "api:docs": Public(),
        "api:claims": Api({"get": READ, "post": WRITE}),
        "api:claim": Api({"get": READ, "put": WRITE, "delete": WRITE}, _api_draft),
        "api:claim_item_options": Api({"get": READ}, _api_draft),
        "api:claim_items": Api({"put": WRITE}, _api_draft),
        "api:claim_contacts": Api({"put": WRITE}, _api_draft),
        "api:claim_proofs": Api({"post": WRITE}, _api_draft),
        "api:claim_proof": Api(
            {"delete": WRITE}, lambda world: {"pk": world.draft.pk, "proof_id": world.draft_proof.pk}
        ),
        "api:claim_comments": Api({"post": WRITE}, _api_draft),
        "api:claim_submit": Api({"post": WRITE}, _api_draft),
        "api:claim_dispute": Api({"post": WRITE}, _api_draft),
        "api:claim_disassociate": Api({"post": WRITE}, _api_draft),
        "api:usage": Api({"get": access.VIEW_USAGE}),
        "api:mpn_ids": Api({"get": READ}),
    }
)

# The admin's own pages: staff only; what a reviewer may do is the models' business.
ADMIN_SITE = {
    "admin:index": Admin(staff="served"),
    "admin:login": Public(("get", "post")),
    "admin:logout": Public(("post",)),
    "admin:password_change": Admin(staff="served"),
    "admin:password_change_done": Admin(staff="served"),
    "admin:autocomplete": Admin(reviewer="either", staff="either"),
    "admin:jsi18n": Public(),
    "admin:view_on_site": Admin(
        reviewer="either",
        staff="either",
        kwargs=lambda world: {
            "content_type_id": ContentType.objects.get_for_model(Claim).pk,
            "object_id": world.claim.pk,
        },
    ),
    "admin:app_list": Admin(kwargs=lambda world: {"app_label": "claims"}),
    "admin/(?P<url>.*)$": Admin(staff="refused", reviewer="refused", path=lambda world: "/admin/no-such-page/"),
    # The reviewers' actions on a claim (claims/admin.py).
    "admin:claims_claim_comment": Admin(methods=("post",), kwargs=lambda world: {"claim_id": world.claim.pk}),
    "admin:claims_claim_internal_note": Admin(methods=("post",), kwargs=lambda world: {"claim_id": world.claim.pk}),
    "admin:claims_claim_request_information": Admin(
        methods=("post",), kwargs=lambda world: {"claim_id": world.under_review.pk}
    ),
    "admin:claims_claim_reject": Admin(methods=("post",), kwargs=lambda world: {"claim_id": world.under_review.pk}),
    "admin:claims_claim_dispute_answer": Admin(
        methods=("post",), kwargs=lambda world: {"claim_id": world.under_review.pk}
    ),
    "admin:claims_claim_arbitrate": Admin(kwargs=lambda world: {"item_id": world.item.pk}),
    "admin:claims_claim_arbitration_queue": Admin(),
    # The reviewers' desk and dashboard (issue 9, section 5).
    "admin:claims_claim_take": Admin(methods=("post",), kwargs=lambda world: {"claim_id": world.under_review.pk}),
    "admin:claims_claim_release": Admin(methods=("post",), kwargs=lambda world: {"claim_id": world.under_review.pk}),
    "admin:claims_claim_dashboard": Admin(),
    "admin:claims_claim_proof_download": Admin(kwargs=lambda world: {"proof_id": world.proof.pk}),
    # Reviewers may not change a partner user's password (issue 7, section 3).
    "admin:auth_user_password_change": Admin(reviewer="refused", kwargs=lambda world: {"id": world.member.pk}),
}

# Each of our models registered in the admin, with the object its pages are walked on and
# who may read it: "reviewers" (the Reviewers group reads claims, the directory, partners
# and users), "superusers" (nobody else).
ADMIN_MODELS = {
    "cpor.partner": ("reviewers", lambda world: world.partner),
    "cpor.mpnid": ("reviewers", lambda world: world.mpn),
    "cpor.user": ("reviewers", lambda world: world.member),
    "cpor.membership": ("reviewers", lambda world: world.member.membership),
    "tenants.tenant": ("reviewers", lambda world: world.claim.tenant),
    "tenants.subscription": ("reviewers", lambda world: world.item.subscription),
    "tenants.product": ("reviewers", lambda world: world.item.product),
    "tenants.workload": ("reviewers", lambda world: world.workload),
    "tenants.usage": ("reviewers", lambda world: world.usage),
    "tenants.legacyassociation": ("reviewers", lambda world: world.legacy),
    "claims.claim": ("reviewers", lambda world: world.claim),
    "claims.claimevent": ("reviewers", lambda world: world.claim.events.first()),
    "claims.comment": ("reviewers", lambda world: world.comment),
    "claims.customeremail": ("reviewers", lambda world: world.customer_notice),
    "notifications.partneremail": ("reviewers", lambda world: world.partner_email),
}


def _model_pages(label, readers, obj):
    """The admin's standard pages of one model: nobody adds or deletes through the admin."""
    app, model = label.split(".")
    reader = "served" if readers == "reviewers" else "refused"
    with_object = {"kwargs": lambda world: {"object_id": obj(world).pk}}
    return {
        f"admin:{app}_{model}_changelist": Admin(reviewer=reader),
        f"admin:{app}_{model}_add": Admin(reviewer="refused"),
        f"admin:{app}_{model}_history": Admin(reviewer=reader, **with_object),
        f"admin:{app}_{model}_delete": Admin(reviewer="refused", **with_object),
        f"admin:{app}_{model}_change": Admin(reviewer=reader, **with_object),
        # Django's old-style address: a redirect to the change page, guarded above.
        f"admin/{app}/{model}/<path:object_id>/": Admin(
            reviewer="either", staff="either", path=lambda world: f"/admin/{app}/{model}/{obj(world).pk}/"
        ),
    }


# Apps whose every registered model is for superusers only (Django's groups, the sign-in
# throttle's logs): their models are classified by app, whichever the library registers.
SUPERUSER_APPS = ("auth", "axes")


def _first_or_missing(model):
    return lambda world: model.objects.order_by("pk").first() or SimpleNamespace(pk=MISSING)


# The walk's test cases: one per URL, but one per model for the admin's standard pages, so
# that the world is built once for the six pages of a model.
CASES = {key: {key: entry} for key, entry in {**PARTNER_SITE, **ADMIN_SITE}.items()}
for _label, (_readers, _obj) in ADMIN_MODELS.items():
    CASES[f"admin pages of {_label}"] = _model_pages(_label, _readers, _obj)
for _model in admin.site._registry:
    if _model._meta.app_label in SUPERUSER_APPS:
        _label = _model._meta.label_lower
        CASES[f"admin pages of {_label}"] = _model_pages(_label, "superusers", _first_or_missing(_model))
MATRIX = {key: entry for case in CASES.values() for key, entry in case.items()}

# The user model's admin keeps Django's own name for its password page (above), and the
# site's catch-all is unnamed: both are keyed as the walk below keys them.


def url_patterns(resolver=None, prefix="", namespace=""):
    """(key, route) of every pattern: its namespaced name, or its route when it has none."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}" if namespace and pattern.namespace else pattern.namespace
            yield from url_patterns(pattern, prefix + str(pattern.pattern), inner or namespace)
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            if pattern.name:
                yield (f"{namespace}:{pattern.name}" if namespace else pattern.name), route
            else:
                yield route, route


def test_every_url_is_classified():
    keys = dict(url_patterns())
    unclassified = sorted(set(keys) - set(MATRIX))
    stale = sorted(set(MATRIX) - set(keys))
    assert not unclassified, f"Classify these URLs in MATRIX (who may use them?): {unclassified}"
    assert not stale, f"These MATRIX entries match no URL any more: {stale}"


# --- The world the URLs are walked in ---------------------------------------------------------


def build_world():
    """One partner with a user per role, a draft with a file, an approved claim with a file,
    a comment and notifications, and a claim under review; another partner with a user per
    role; a reviewer and a staff user who is not one."""
    partner = PartnerFactory(name="Fabrikam Matrix")
    other = PartnerFactory(name="Northwind Matrix")
    users = {role: partner_user(partner, role) for role in Role}
    strangers = {role: partner_user(other, role) for role in Role}
    filer = users[Role.INCENTIVES_ADMIN]
    mpn = MpnIdFactory(partner=partner)

    draft = ClaimFactory(mpn=mpn, created_by=filer, name="Draft")
    SubscriptionItemFactory(claim=draft)
    draft_proof = ProofFactory(claim=draft)

    claim = ClaimFactory(mpn=mpn, created_by=filer, name="Approved")
    item = SubscriptionItemFactory(
        claim=claim, outcome=ItemOutcome.APPROVED, decided_at=datetime.datetime(2026, 1, 15, tzinfo=datetime.UTC)
    )
    put_approved(claim)
    proof = ProofFactory(claim=claim)
    comment = Comment.objects.create(claim=claim, author=filer, body="Signed statement of work attached.")
    for event in ClaimEvent.objects.filter(claim=claim):
        notifications.event_notify(event_id=event.pk)

    under_review = ClaimFactory(mpn=mpn, created_by=filer, name="Under review")
    SubscriptionItemFactory(claim=under_review)
    put_under_review(under_review)
    customer_notice = under_review.customer_emails.first() or CustomerEmail.objects.create(
        claim=under_review, recipient="cio@customer.example", role=CustomerEmail.Role.CUSTOMER
    )
    partner_email = PartnerEmail.objects.get_or_create(
        event=claim.events.first(), recipient=filer.email, defaults={"language": "en"}
    )[0]

    workload = WorkloadFactory(name="Exchange Online")
    usage = Usage.objects.create(
        tenant=claim.tenant,
        workload=item.product.code,
        month=datetime.date(2026, 2, 1),
        monthly_active_users=3,
        paid_available_units=5,
    )
    legacy = LegacyAssociation.objects.create(
        partner=partner, mpn=mpn, tenant=claim.tenant, workload=workload, since=datetime.date(2020, 1, 1)
    )
    admin_user = users[Role.GLOBAL_ADMIN]
    api_key, _secret = api_services.api_key_create(actor=admin_user, name="Matrix", role=Role.INCENTIVES_USER)
    endpoint = WebhookEndpoint.objects.create(
        partner=partner, url="https://hooks.fabrikam.example/cpor", events=[], secret="s", created_by=admin_user
    )
    message = WebhookMessage.objects.create(
        endpoint=endpoint, claim_event=claim.events.first(), event_type="approved", claim_id_sent=claim.pk, body="{}"
    )
    upload = BulkUpload.objects.create(
        partner=partner, uploaded_by=filer, content=b"", original_name="claims.csv", row_count=0
    )
    return SimpleNamespace(
        partner=partner,
        other=other,
        api_key=api_key,
        endpoint=endpoint,
        message=message,
        upload=upload,
        users=users,
        strangers=strangers,
        member=users[Role.INCENTIVES_USER],
        mpn=mpn,
        draft=draft,
        draft_proof=draft_proof,
        claim=claim,
        item=item,
        proof=proof,
        comment=comment,
        under_review=under_review,
        customer_notice=customer_notice,
        partner_email=partner_email,
        workload=workload,
        usage=usage,
        legacy=legacy,
        reviewer=make_reviewer(),
        staff=UserFactory(is_staff=True),
    )


_clients: dict = {}


def client_for(user):
    """One signed-in client per user and test (signing in is most of a request's cost)."""
    key = user.pk if user is not None else None
    if key not in _clients:
        _clients[key] = Client()
        if user is not None:
            _clients[key].force_login(user)
    return _clients[key]


@pytest.fixture(autouse=True)
def _fresh_clients():
    _clients.clear()
    yield
    _clients.clear()


def request(user, method, url, data=None):
    return getattr(client_for(user), method)(url, data or {})


def url_of(key, entry, world, user=None):
    if getattr(entry, "path", None) is not None:
        return entry.path(world)
    if entry.kwargs is None:
        return reverse(key)
    kwargs = entry.kwargs(world, user) if isinstance(entry, Partner) else entry.kwargs(world)
    return reverse(key, kwargs=kwargs)


def served(response):
    """Answered (a page, a file, a redirect, a form's errors): neither refused nor failed."""
    return response.status_code < 500 and response.status_code not in (403, 404)


def refused(response):
    """403, or 404, or the admin's "does not exist" redirect to its index: nothing shown."""
    if response.status_code == 302:
        return response["Location"] == reverse("admin:index")
    return response.status_code in (403, 404)


def sent_to_sign_in(response, sign_in):
    return response.status_code == 302 and response["Location"].startswith(sign_in)


# --- The walk -----------------------------------------------------------------------------------


def walk_public(key, entry, world):
    url = url_of(key, entry, world)
    people = [None, *world.users.values(), world.reviewer, world.staff]
    for method in entry.methods:
        for user in people:
            response = request(user, method, url)
            assert response.status_code < 500, (key, method, user)


def walk_partner(key, entry, world):
    sign_in = reverse("login")
    allowed = sorted(entry.roles)
    for method in entry.methods:
        url = url_of(key, entry, world, world.users[allowed[0]])
        anonymous = request(None, method, url, entry.data)
        assert anonymous.status_code == 302 and anonymous["Location"] == f"{sign_in}?next={url}", (key, method)

        if entry.has_object:
            # Another partner's user, with a role that may use the page: 404, as if missing.
            stranger = world.strangers[allowed[0]]
            assert request(stranger, method, url, entry.data).status_code == 404, (key, method)
            missing = reverse(key, kwargs=dict.fromkeys(entry.kwargs(world, world.users[allowed[0]]), MISSING))
            assert request(world.users[allowed[0]], method, missing, entry.data).status_code == 404, (key, method)

        for person in (world.reviewer, world.staff):
            assert request(person, method, url, entry.data).status_code == 403, (key, method, person)

        for role in sorted(set(Role) - entry.roles):
            user = world.users[role]
            response = request(user, method, url_of(key, entry, world, user), entry.data)
            assert response.status_code == 403, (key, method, role)

    # Last, as a page that may act (delete the draft, deactivate a member) should.
    for method in entry.methods:
        for role in allowed:
            user = world.users[role]
            response = request(user, method, url_of(key, entry, world, user), entry.data)
            assert served(response), (key, method, role, response.status_code)


_key_numbers = itertools.count()


def key_header(world, partner, role):
    """An API key of `partner` with `role`, created by that partner's Global admin."""
    users = world.users if partner == world.partner else world.strangers
    name = f"Matrix {next(_key_numbers)}"
    _key, secret = api_services.api_key_create(actor=users[Role.GLOBAL_ADMIN], name=name, role=role)
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def walk_api(key, entry, world):
    url = reverse(key, kwargs=entry.kwargs(world)) if entry.has_object else reverse(key)
    for method, allowed in entry.roles.items():
        # No key: 401, whoever is signed in on the site.
        for person in (None, *world.users.values(), world.reviewer, world.staff):
            response = getattr(client_for(person), method)(url, {}, content_type="application/json")
            assert response.status_code == 401, (key, method, person, response.status_code)
        if entry.has_object:
            any_role = sorted(allowed)[0]
            stranger = key_header(world, world.other, any_role)
            response = getattr(Client(), method)(url, {}, content_type="application/json", **stranger)
            assert response.status_code == 404, (key, method, response.status_code)
        for role in sorted(set(Role) - allowed):
            response = getattr(Client(), method)(
                url, {}, content_type="application/json", **key_header(world, world.partner, role)
            )
            assert response.status_code == 403, (key, method, role, response.status_code)
    # Last, as a request that may act (delete the draft) should.
    for method, allowed in entry.roles.items():
        for role in sorted(allowed):
            response = getattr(Client(), method)(
                url, {}, content_type="application/json", **key_header(world, world.partner, role)
            )
            assert served(response) and response.status_code != 401, (key, method, role, response.status_code)


def walk_admin(key, entry, world):
    sign_in = reverse("admin:login")
    url = url_of(key, entry, world)
    for method in entry.methods:
        assert sent_to_sign_in(request(None, method, url), sign_in), (key, method)
        for role, user in world.users.items():
            assert sent_to_sign_in(request(user, method, url), sign_in), (key, method, role)
        for person, expected in ((world.staff, entry.staff), (world.reviewer, entry.reviewer)):
            response = request(person, method, url)
            assert response.status_code < 500, (key, method, person)
            assert not sent_to_sign_in(response, sign_in), (key, method, person)
            if expected == "served":
                assert served(response), (key, method, person, response.status_code)
            elif expected == "refused":
                assert refused(response), (key, method, person, response.status_code)


@pytest.mark.parametrize("case", sorted(CASES))
def test_url_permissions(case):
    world = build_world()
    for key, entry in CASES[case].items():
        if isinstance(entry, Public):
            walk_public(key, entry, world)
        elif isinstance(entry, Partner):
            walk_partner(key, entry, world)
        elif isinstance(entry, Api):
            walk_api(key, entry, world)
        else:
            walk_admin(key, entry, world)


def test_the_walk_knows_reviewers_from_other_staff():
    # The matrix's two kinds of staff are what cpor.access tells apart.
    world = build_world()
    assert access.is_reviewer(world.reviewer)
    assert not access.is_reviewer(world.staff)
    assert access.membership_of(world.reviewer) is None and access.membership_of(world.staff) is None


def test_after_a_fresh_migrate_the_reviewers_group_reads_claims_and_the_directory():
    # The walk found reviewers refused from the directory's admin pages on a fresh database:
    # the group was filled before the tenants and claims apps had their permissions.
    group = Group.objects.get(name="Reviewers")
    codenames = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert {("tenants", "view_tenant"), ("tenants", "view_usage"), ("claims", "view_claim")} <= codenames
    assert ("claims", "add_comment") in codenames
