"""Partners, MPN IDs, users and their memberships in the Django admin (vendor staff only,
so in English).

Partners and MPN IDs come from the directory feed, which owns them: they are read-only
here, like the rest of the master data (tenants/admin.py). Users are managed here: the
User model signs in with an email address and has no username, so the stock UserAdmin is
adapted (forms, fieldsets, ordering). Only superusers change users and memberships.
Staff who are not superusers (reviewers) read them and change nothing: with the change
permission they could otherwise give themselves a partner membership and act as that
partner, or set a partner user's password and sign in as them. A staff account never holds
a membership at all (Membership.clean, a database trigger, and cpor.access).
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as StockUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _

from .admin_mixins import ReadOnlyAdminMixin
from .models import Membership, MpnId, Partner, User

# The reviewers' back office says what it is, not "Django administration".
admin.site.site_header = _("CPOR back office")
admin.site.site_title = _("CPOR back office")
admin.site.index_title = _("Claims, partners and master data")
# The claims list is wide (partner, MPN ID, tenant, status, dates...): the whole page is its.
admin.site.enable_nav_sidebar = False

PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


class MpnIdInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = MpnId
    extra = 0
    fields = ("mpn_id", "location", "partner_type", "osa_sell", "osu_m365", "osu_bizapps")
    show_change_link = True


@admin.register(Partner)
class PartnerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "partner_id", "country")
    list_filter = ("country",)
    search_fields = ("partner_id", "name", "mpn_ids__mpn_id")
    search_help_text = "Partner ID, name or one of its MPN IDs."
    inlines = (MpnIdInline,)


@admin.register(MpnId)
class MpnIdAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("mpn_id", "partner", "location", "partner_type", "osa_sell", "osu_m365", "osu_bizapps")
    list_filter = ("osa_sell", "osu_m365", "osu_bizapps", "partner_type")
    list_select_related = ("partner",)
    search_fields = ("mpn_id", "location", "partner__name", "partner__partner_id")
    search_help_text = "MPN ID, location, partner name or partner ID."


class EmailUserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class EmailUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes = {}

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class SuperuserWritesMixin:
    """Reviewers read; only a superuser adds, changes or deletes (see the module's docstring)."""

    def has_add_permission(self, request, *args):
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        # For users this includes the password-change page, which asks the same question.
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


class MembershipInline(SuperuserWritesMixin, admin.StackedInline):
    model = Membership
    extra = 0
    max_num = 1
    fields = ("partner", "role")
    autocomplete_fields = ("partner",)


@admin.register(User)
class UserAdmin(SuperuserWritesMixin, StockUserAdmin):
    form = EmailUserChangeForm
    add_form = EmailUserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "language")}),
        ("Permissions", {"fields": ("is_active", *PRIVILEGE_FIELDS)}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "usable_password", "password1", "password2")}),)
    list_display = ("email", "first_name", "last_name", "partner", "role", "is_staff", "is_active")
    list_filter = ("is_staff", "is_active", "groups", "membership__role", "membership__partner")
    list_select_related = ("membership__partner",)
    search_fields = ("email", "first_name", "last_name", "membership__partner__name")
    ordering = ("email",)
    inlines = (MembershipInline,)

    @admin.display(description="partner", ordering="membership__partner__name")
    def partner(self, user):
        membership = getattr(user, "membership", None)
        return membership.partner.name if membership else "–"

    @admin.display(description="role", ordering="membership__role")
    def role(self, user):
        membership = getattr(user, "membership", None)
        return membership.get_role_display() if membership else "–"

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()  # the membership is set once the user exists

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        return (*super().get_readonly_fields(request, obj), *PRIVILEGE_FIELDS)


@admin.register(Membership)
class MembershipAdmin(SuperuserWritesMixin, admin.ModelAdmin):
    list_display = ("user", "partner", "role", "created_at")
    list_filter = ("role", "partner")
    list_select_related = ("user", "partner")
    search_fields = ("user__email", "partner__name", "partner__partner_id")
    autocomplete_fields = ("user", "partner")
