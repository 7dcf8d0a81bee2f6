"""Signing in and out, passwords, the language switch, the Users page and MPN IDs.

Thin views: check access (cpor.access), read through cpor.selectors, call one service for a
write, turn a rule broken into a message, redirect.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import check_for_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import set_language as django_set_language

from . import selectors, services, throttle
from .access import MANAGE_USERS, can_manage_users, partner_required
from .forms import InviteForm, MpnProgramsForm, PasswordResetForm, RoleForm, SetPasswordForm, SignInForm
from .models import Role

# --- Signing in and out ----------------------------------------------------------------


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        # A language picked on the sign-in page is this user's choice: emails follow it too.
        chosen = self.request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        user = form.get_user()
        if chosen in dict(settings.LANGUAGES) and chosen != user.language:
            services.user_set_language(user=user, language=chosen)
        return response


class SignOutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, _("You have signed out."))
        return response


# --- Passwords: Django's views, our forms and templates ----------------------------------


class PasswordResetView(auth_views.PasswordResetView):
    """The same answer whether or not the address has an account; a request past the rate
    limit is refused with the wait (429), for any address alike."""

    form_class = PasswordResetForm

    def form_valid(self, form):
        try:
            services.password_reset_request(
                email=form.cleaned_data["email"], client_ip=throttle.client_ip(self.request)
            )
        except services.TooManyRequests as error:
            form.add_error(None, str(error))
            response = self.form_invalid(form)
            response.status_code = 429
            return response
        return redirect(self.get_success_url())


class ActiveUserLinkMixin:
    """A link emailed to a user who has since been deactivated no longer works."""

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None


class PasswordResetConfirmView(ActiveUserLinkMixin, auth_views.PasswordResetConfirmView):
    form_class = SetPasswordForm


class InvitationAcceptView(ActiveUserLinkMixin, auth_views.PasswordResetConfirmView):
    """The invitee chooses a password from the emailed link and is signed in."""

    form_class = SetPasswordForm
    template_name = "registration/invitation_accept.html"
    title = gettext_lazy("Welcome to CPOR")
    post_reset_login = True
    # Signs in without a password check, so not through django-axes' backend (which only counts).
    post_reset_login_backend = "cpor.backends.UserBackend"
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password is set. Welcome to CPOR."))
        return response


# --- Language ---------------------------------------------------------------------------


@require_POST
def set_language(request):
    """Django's set_language (cookie, then back to a safe `next`); a signed-in user's choice
    is also saved on their account, so that emails to them use it."""
    response = django_set_language(request)
    language = request.POST.get("language")
    if (
        request.user.is_authenticated
        and language in dict(settings.LANGUAGES)
        and check_for_language(language)
        and language != request.user.language
    ):
        services.user_set_language(user=request.user, language=language)
    return response


# --- Users (the Global admin's team management) ----------------------------------------


def _team_breadcrumbs():
    return [(_("Organisation"), None), (_("Users"), None)]


ROLE_DESCRIPTIONS = {
    Role.INCENTIVES_ADMIN: gettext_lazy("Files, submits and follows customer associations."),
    Role.INCENTIVES_USER: gettext_lazy("Reads customer associations and reports."),
    Role.BILLING_ADMIN: gettext_lazy("Sees the claims, history and usage of the organisation."),
    Role.GLOBAL_ADMIN: gettext_lazy("Also manages users, roles and the MPN IDs' programme enrolment."),
}


def _render_team(request, invite_form, status=200):
    members = [
        (membership, RoleForm(initial={"role": membership.role}, prefix=f"m{membership.pk}"))
        for membership in selectors.team_members_of(request.user)
    ]
    return render(
        request,
        "cpor/team.html",
        {
            "nav": "team",
            "breadcrumbs": _team_breadcrumbs(),
            "members": members,
            "invite_form": invite_form,
            "roles": [(Role(role).label, description) for role, description in ROLE_DESCRIPTIONS.items()],
        },
        status=status,
    )


@require_GET
@partner_required(MANAGE_USERS)
def team(request):
    """Users: the partner's people, their roles and whether they may sign in."""
    return _render_team(request, InviteForm())


@require_POST
@partner_required(MANAGE_USERS)
def team_invite(request):
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            services.user_invite(actor=request.user, **form.cleaned_data)
        except services.AccountError as error:
            form.add_error("email", str(error))
        else:
            # The same answer when the address has an account elsewhere (see user_invite).
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]})
            return redirect("team")
    return _render_team(request, form, status=400)


@require_POST
@partner_required(MANAGE_USERS)
def team_role(request, pk):
    membership = selectors.membership_get_for_user(request.user, pk)
    form = RoleForm(request.POST, prefix=f"m{membership.pk}")
    if not form.is_valid():
        messages.error(request, _("Choose one of the roles in the list."))
        return redirect("team")
    try:
        membership = services.membership_change_role(
            actor=request.user, membership_id=membership.pk, role=form.cleaned_data["role"]
        )
    except services.AccountError as error:
        messages.error(request, str(error))
        return redirect("team")
    messages.success(
        request,
        _("%(email)s is now %(role)s.") % {"email": membership.user.email, "role": membership.get_role_display()},
    )
    # A Global admin who gave up the role can no longer see the Users page.
    gave_up_the_role = membership.user_id == request.user.pk and membership.role not in MANAGE_USERS
    return redirect("home" if gave_up_the_role else "team")


def _team_action(request, pk, service, success_message):
    """One of the Users page's buttons on one membership: the service decides, the page says."""
    membership = selectors.membership_get_for_user(request.user, pk)
    try:
        service(actor=request.user, membership_id=membership.pk)
    except services.AccountError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, success_message % {"email": membership.user.email})
    return redirect("team")


@require_POST
@partner_required(MANAGE_USERS)
def team_deactivate(request, pk):
    return _team_action(request, pk, services.user_deactivate, _("%(email)s can no longer sign in."))


@require_POST
@partner_required(MANAGE_USERS)
def team_reactivate(request, pk):
    return _team_action(request, pk, services.user_reactivate, _("%(email)s can sign in again."))


@require_POST
@partner_required(MANAGE_USERS)
def team_resend_invitation(request, pk):
    return _team_action(request, pk, services.invitation_resend, _("A new invitation was sent to %(email)s."))


# --- MPN IDs ----------------------------------------------------------------------------


@require_GET
@partner_required()
def mpn_ids(request):
    """The partner's MPN IDs: location, partner type and programme enrolment. Every role
    reads it; the Global admin changes the enrolment."""
    manage = can_manage_users(request.user)
    rows = [(mpn, MpnProgramsForm(mpn=mpn) if manage else None) for mpn in selectors.mpn_list_visible_to(request.user)]
    return render(
        request,
        "cpor/mpn_ids.html",
        {
            "nav": "mpn_ids",
            "breadcrumbs": [(_("Organisation"), None), (_("MPN IDs"), None)],
            "rows": rows,
            "can_manage": manage,
        },
    )


@require_POST
@partner_required(MANAGE_USERS)
def mpn_programs(request, pk):
    mpn = selectors.mpn_get_for_user(request.user, pk)
    form = MpnProgramsForm(request.POST, mpn=mpn)
    if form.is_valid():
        try:
            mpn = services.mpn_set_programs(actor=request.user, mpn_id=mpn.pk, programs=form.programs())
        except services.AccountError as error:
            messages.error(request, str(error))
        else:
            enrolled = ", ".join(mpn.programs) or _("no programme")
            messages.success(
                request, _("MPN ID %(mpn)s is enrolled in: %(programs)s.") % {"mpn": mpn.mpn_id, "programs": enrolled}
            )
    return redirect(reverse("mpn_ids"))
