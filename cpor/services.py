"""Writes on the partner side: the Global admin's management of users, roles and MPN IDs'
programme enrolment, and a user's own language.

Each service runs in one transaction, locks the partner row first (so two Global admins
acting at once are serialised and the partner can never lose its last Global admin), re-reads
the rows it changes with select_for_update, checks the rule, changes what it must and writes
an entry in the admin's history of the changed object (who, when, what). Emails go out
only once the transaction has committed.
"""

import logging
import math
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import emails, tasks
from .models import Membership, MpnId, Partner, PasswordResetRequest, Program, Role, User

logger = logging.getLogger(__name__)


class AccountError(Exception):
    """A rule of team management was broken; the message is for the Global admin."""


class TooManyRequests(Exception):
    """A rate limit was reached; the message says how long to wait."""


def _log(*, actor: User, obj, flag: int, message: str) -> None:
    LogEntry.objects.log_actions(
        user_id=actor.pk, queryset=type(obj).objects.filter(pk=obj.pk), action_flag=flag, change_message=message
    )


def _lock_partner_of(actor: User) -> Partner:
    """The actor's partner, locked. Only an active Global admin manages it; that is checked
    again once the lock is held, since another Global admin may just have changed it."""
    membership = Membership.objects.filter(user=actor).first()
    partner = Partner.objects.select_for_update().get(pk=membership.partner_id) if membership else None
    if (
        partner is None
        or not Membership.objects.filter(
            user=actor,
            partner=partner,
            role=Role.GLOBAL_ADMIN,
            user__is_active=True,
            # Vendor staff never act for a partner, whatever rows exist (cpor.access).
            user__is_staff=False,
            user__is_superuser=False,
        ).exists()
    ):
        raise AccountError(_("Only a Global admin can manage the organisation's users and MPN IDs."))
    return partner


def _lock_membership(actor: User, membership_id: int) -> Membership:
    """One of the actor's partner's memberships, locked after the partner (_lock_partner_of)."""
    partner = _lock_partner_of(actor)
    # Scoped to the actor's partner: another partner's membership is not found, like a missing one.
    return Membership.objects.select_for_update().select_related("user").get(pk=membership_id, partner=partner)


def _lock_user(membership: Membership) -> User:
    """The membership's user, read again and locked."""
    return User.objects.select_for_update().get(pk=membership.user_id)


def _user_set_active(*, actor: User, membership: Membership, active: bool, message: str) -> Membership:
    """Let the membership's user sign in again, or stop them, and log it; nothing if they already are so."""
    user = _lock_user(membership)
    if user.is_active == active:
        return membership
    user.is_active = active
    user.save(update_fields=["is_active"])
    _log(actor=actor, obj=user, flag=CHANGE, message=message)
    membership.user = user
    return membership


def _other_active_global_admins(membership: Membership) -> int:
    return (
        Membership.objects.filter(partner_id=membership.partner_id, role=Role.GLOBAL_ADMIN, user__is_active=True)
        .exclude(pk=membership.pk)
        .count()
    )


def _refuse_losing_last_global_admin(membership: Membership) -> None:
    if (
        membership.role == Role.GLOBAL_ADMIN
        and membership.user.is_active
        and _other_active_global_admins(membership) == 0
    ):
        raise AccountError(
            _("%(email)s is your organisation's last active Global admin. Make another user Global admin first.")
            % {"email": membership.user.email}
        )


def invitation_email_send(*, user_id: int, invited_by_id: int) -> bool:
    """The worker's half of an invitation: email the invitee a link to set their password.
    Sent off the request, so that the answer never waits on the mail server, whose delay
    would tell a new account from an address that has one elsewhere (see user_invite). A
    user who has since set a password or been deactivated gets nothing."""
    user = User.objects.select_related("membership__partner").filter(pk=user_id, is_active=True).first()
    if user is None or user.has_usable_password() or not hasattr(user, "membership"):
        return False
    invited_by = User.objects.get(pk=invited_by_id)
    return emails.send_account_email(
        user=user,
        template="invitation",
        context={
            "invited_by": invited_by,
            "partner": user.membership.partner,
            # The bound method, so that the label is translated while the email renders.
            "role": user.membership.get_role_display,
            "accept_url": emails.token_url("invitation_accept", user),
        },
    )


@transaction.atomic
def user_invite(
    *,
    actor: User,
    email: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    language: str = "en",
) -> User | None:
    """Add a user to the Global admin's partner with a role, and email them a link to set
    their password.

    Each person has one account, in one organisation. An address that already has an
    account elsewhere (another partner, or vendor staff) gets the same answer as a new one
    and nothing changes: the Global admin must not learn who the vendor's staff or a
    competitor's users are. Returns the new user, or None when nothing was created. Only an
    address that is already one of the admin's own users, which their Users page lists
    anyway, is refused by name."""
    partner = _lock_partner_of(actor)
    email = User.objects.normalize_email(email).strip().lower()
    existing = User.objects.filter(email__iexact=email).first()
    if existing is not None:
        if Membership.objects.filter(user=existing, partner=partner).exists():
            raise AccountError(_("%(email)s is already one of your organisation's users.") % {"email": email})
        logger.info("Invitation by user %s to an address that has an account elsewhere: nothing done.", actor.pk)
        return None
    try:
        # A savepoint, so that losing a race on the unique email leaves the transaction usable.
        with transaction.atomic():
            user = User(email=email, first_name=first_name, last_name=last_name, language=language)
            # No password yet: the invitee chooses one from the emailed link.
            user.set_unusable_password()
            user.save()
    except IntegrityError:
        # Someone else took the address at this very moment: the same answer as above.
        return None
    membership = Membership.objects.create(user=user, partner=partner, role=Role(role))
    _log(actor=actor, obj=user, flag=ADDITION, message=f"Invited to {partner} as {membership.get_role_display()}.")
    transaction.on_commit(lambda: tasks.enqueue_invitation_email(user.pk, actor.pk))
    return user


@transaction.atomic
def invitation_resend(*, actor: User, membership_id: int) -> Membership:
    """Send a new invitation to a user who has not set a password yet; earlier links stop working."""
    membership = _lock_membership(actor, membership_id)
    user = _lock_user(membership)
    if user.has_usable_password():
        raise AccountError(_("%(email)s has already accepted the invitation.") % {"email": user.email})
    if not user.is_active:
        raise AccountError(_("%(email)s is deactivated. Reactivate the user first.") % {"email": user.email})
    # A fresh unusable password changes the token's hash, so links sent before are void.
    user.set_unusable_password()
    user.save(update_fields=["password"])
    _log(actor=actor, obj=user, flag=CHANGE, message="Invitation sent again.")
    transaction.on_commit(lambda: tasks.enqueue_invitation_email(user.pk, actor.pk))
    return membership


@transaction.atomic
def membership_change_role(*, actor: User, membership_id: int, role: str) -> Membership:
    """Give a user of the partner another role. The partner keeps at least one active Global admin."""
    membership = _lock_membership(actor, membership_id)
    role = Role(role)
    if membership.role == role:
        return membership
    if role != Role.GLOBAL_ADMIN:
        _refuse_losing_last_global_admin(membership)
    previous = membership.get_role_display()
    membership.role = role
    membership.save(update_fields=["role"])
    _log(
        actor=actor,
        obj=membership.user,
        flag=CHANGE,
        message=f"Role changed from {previous} to {membership.get_role_display()}.",
    )
    return membership


@transaction.atomic
def user_deactivate(*, actor: User, membership_id: int) -> Membership:
    """Stop a user of the partner from signing in; their sessions end at their next request.
    A Global admin cannot deactivate themself, nor the partner's last active Global admin."""
    membership = _lock_membership(actor, membership_id)
    if membership.user_id == actor.pk:
        raise AccountError(_("You cannot deactivate your own account. Ask another Global admin."))
    _refuse_losing_last_global_admin(membership)
    return _user_set_active(actor=actor, membership=membership, active=False, message="Deactivated.")


@transaction.atomic
def user_reactivate(*, actor: User, membership_id: int) -> Membership:
    """Let a deactivated user of the partner sign in again, with the role they had."""
    membership = _lock_membership(actor, membership_id)
    return _user_set_active(actor=actor, membership=membership, active=True, message="Reactivated.")


@transaction.atomic
def mpn_set_programs(*, actor: User, mpn_id: int, programs: Iterable[str]) -> MpnId:
    """Enrol one of the partner's MPN IDs in exactly the given incentive programmes."""
    partner = _lock_partner_of(actor)
    mpn = MpnId.objects.select_for_update().get(pk=mpn_id, partner=partner)
    programs = {Program(program) for program in programs}
    before = set(mpn.programs)
    if before == programs:
        return mpn
    mpn.set_programs(programs)
    mpn.save(update_fields=list(MpnId.PROGRAM_FIELDS.values()))
    enrolled = ", ".join(sorted(programs)) or "none"
    _log(actor=actor, obj=mpn, flag=CHANGE, message=f"Programme enrolment set to: {enrolled}.")
    return mpn


@transaction.atomic
def user_set_language(*, user: User, language: str) -> None:
    """Remember the language a user chose: the site and their emails use it."""
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language


# --- Password reset ---------------------------------------------------------------------


def _email_digest(email: str) -> str:
    return salted_hmac("cpor.password-reset", email.strip().lower(), algorithm="sha256").hexdigest()


def _minutes_until_one_expires(requests, window: timedelta) -> int:
    oldest = requests.order_by("requested_at").values_list("requested_at", flat=True).first()
    seconds = (oldest + window - timezone.now()).total_seconds() if oldest else window.total_seconds()
    return max(1, math.ceil(seconds / 60))


@transaction.atomic
def password_reset_request(*, email: str, client_ip: str | None) -> None:
    """Email a link to choose a new password to the active account with this address, if
    there is one.

    The answer is the same, and takes the same time, whether or not such an account exists:
    this request only counts and queues; a worker looks the account up and sends the email.
    At most PASSWORD_RESET_LIMIT_PER_EMAIL requests per email address, and
    PASSWORD_RESET_LIMIT_PER_ADDRESS per client address, in PASSWORD_RESET_WINDOW_MINUTES;
    past that the request is refused with the wait, and nothing is queued. Two requests at
    the same instant may both pass the count: a rate limit, not an exact quota."""
    now = timezone.now()
    window = timedelta(minutes=settings.PASSWORD_RESET_WINDOW_MINUTES)
    PasswordResetRequest.objects.filter(requested_at__lt=now - window).delete()
    recent = PasswordResetRequest.objects.filter(requested_at__gte=now - window)
    digest = _email_digest(email)
    for requests, limit in (
        (recent.filter(email_digest=digest), settings.PASSWORD_RESET_LIMIT_PER_EMAIL),
        (recent.filter(client_ip=client_ip) if client_ip else None, settings.PASSWORD_RESET_LIMIT_PER_ADDRESS),
    ):
        if requests is not None and requests.count() >= limit:
            minutes = _minutes_until_one_expires(requests, window)
            raise TooManyRequests(
                ngettext(
                    "Too many password reset requests for this email address or from your address. "
                    "Wait %(minutes)s minute, then try again.",
                    "Too many password reset requests for this email address or from your address. "
                    "Wait %(minutes)s minutes, then try again.",
                    minutes,
                )
                % {"minutes": minutes}
            )
    PasswordResetRequest.objects.create(email_digest=digest, client_ip=client_ip, requested_at=now)
    transaction.on_commit(lambda: tasks.enqueue_password_reset_email(email.strip()))


def password_reset_emails_send(*, email: str) -> int:
    """The worker's half of a password reset: email each active account with this address
    (compared case-insensitively) a one-time link, in its user's language. An invited user
    who lost the invitation may use it too, so users without a password yet are included.
    Returns how many emails went out."""
    sent = 0
    for user in User.objects.filter(email__iexact=email.strip(), is_active=True):
        sent += emails.send_account_email(
            user=user,
            template="password_reset",
            context={"reset_url": emails.token_url("password_reset_confirm", user)},
        )
    return sent
