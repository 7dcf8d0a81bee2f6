"""Partners, MPN IDs, users and their memberships in the Django admin (vendor staff only,
so in English).

Partners and MPN IDs come from the directory feed, which owns them: they are read-only
here, like the rest of the master data (tenants/admin.py). Users are managed here: the
User model signs in with an email address and has no username, so the stock UserAdmin is
adapted (forms, fieldsets, ordering). Staff who are not superusers (reviewers) may look
after partner users, never after staff accounts, and may not grant staff status, groups or
permissions: with the change permission on users they could otherwise reset a
superuser's password or promote themselves.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as StockUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from .models import Membership, MpnId, Partner, User

PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


class FeedOwnedMixin:
    """Written only by `manage.py import_directory`."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MpnIdInline(FeedOwnedMixin, admin.TabularInline):
    model = MpnId
    extra = 0
    fields = ("mpn_id", "location", "partner_type", "osa_sell", "osu_m365", "osu_bizapps")
    show_change_link = True


@admin.register(Partner)
class PartnerAdmin(FeedOwnedMixin, admin.ModelAdmin):
    list_display = ("name", "partner_id", "country")
    list_filter = ("country",)
    search_fields = ("partner_id", "name", "mpn_ids__mpn_id")
    search_help_text = "Partner ID, name or one of its MPN IDs."
    inlines = (MpnIdInline,)


@admin.register(MpnId)
class MpnIdAdmin(FeedOwnedMixin, admin.ModelAdmin):
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


class MembershipInline(admin.StackedInline):
    model = Membership
    extra = 0
    max_num = 1
    fields = ("partner", "role")
    autocomplete_fields = ("partner",)


@admin.register(User)
class UserAdmin(StockUserAdmin):
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

    def has_change_permission(self, request, obj=None):
        # Includes the password-change page, which asks the same question.
        if obj is not None and (obj.is_staff or obj.is_superuser) and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and (obj.is_staff or obj.is_superuser) and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "partner", "role", "created_at")
    list_filter = ("role", "partner")
    list_select_related = ("user", "partner")
    search_fields = ("user__email", "partner__name", "partner__partner_id")
    autocomplete_fields = ("user", "partner")
