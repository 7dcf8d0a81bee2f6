"""Accounts, mounted at /accounts/: signing in and out, passwords, invitations, language,
and the partner's Users and MPN IDs pages."""

from django.urls import path

from . import views

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        views.auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path("reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("reset/done/", views.auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("invitation/<uidb64>/<token>/", views.InvitationAcceptView.as_view(), name="invitation_accept"),
    path("language/", views.set_language, name="set_language"),
    path("users/", views.team, name="team"),
    path("users/invite/", views.team_invite, name="team_invite"),
    path("users/<int:pk>/role/", views.team_role, name="team_role"),
    path("users/<int:pk>/deactivate/", views.team_deactivate, name="team_deactivate"),
    path("users/<int:pk>/reactivate/", views.team_reactivate, name="team_reactivate"),
    path("users/<int:pk>/resend-invitation/", views.team_resend_invitation, name="team_resend_invitation"),
    path("mpn-ids/", views.mpn_ids, name="mpn_ids"),
    path("mpn-ids/<int:pk>/programmes/", views.mpn_programs, name="mpn_programs"),
]
