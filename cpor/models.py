"""The partner side of the domain: users, partners, their MPN IDs and the roles users hold."""

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class Program(models.TextChoices):
    """The incentive programmes an MPN ID can be enrolled in."""

    OSA_SELL = "OSA-Sell", "OSA-Sell"
    OSU_M365 = "OSU-M365", "OSU-M365"
    OSU_BIZAPPS = "OSU-BizApps", "OSU-BizApps"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        # Email addresses are compared case-insensitively everywhere (sign-in, admin, reset),
        # matching the case-insensitive unique constraint on User.email.
        return self.get(**{f"{self.model.USERNAME_FIELD}__iexact": username})

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person who signs in with an email address; partner users also hold a Membership."""

    username = None
    email = models.EmailField(_("email address"), unique=True)
    language = models.CharField(
        _("language"), max_length=8, default="en", choices=[("en", "English"), ("fr", "Français")]
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self):
        return self.email

    def clean(self):
        super().clean()
        # Vendor staff and partners stay apart (see Membership); the database refuses it too.
        if (self.is_staff or self.is_superuser) and self.pk and Membership.objects.filter(user_id=self.pk).exists():
            raise ValidationError(STAFF_MEMBERSHIP_REFUSED)


class Partner(models.Model):
    partner_id = models.CharField(_("partner ID"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    country = models.CharField(_("country"), max_length=2)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(partner_id__regex=r"^[0-9]+$"), name="partner_id_digits")
        ]

    def __str__(self):
        return f"{self.name} ({self.partner_id})"


class MpnId(models.Model):
    """A partner location, enrolled (or not) in each incentive programme."""

    mpn_id = models.CharField(_("MPN ID"), max_length=20, unique=True)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="mpn_ids")
    location = models.CharField(_("location"), max_length=200)
    partner_type = models.CharField(_("partner type"), max_length=100, blank=True)
    osa_sell = models.BooleanField("OSA-Sell", default=False)
    osu_m365 = models.BooleanField("OSU-M365", default=False)
    osu_bizapps = models.BooleanField("OSU-BizApps", default=False)

    PROGRAM_FIELDS = {Program.OSA_SELL: "osa_sell", Program.OSU_M365: "osu_m365", Program.OSU_BIZAPPS: "osu_bizapps"}

    class Meta:
        ordering = ["mpn_id"]
        verbose_name = _("MPN ID")
        verbose_name_plural = _("MPN IDs")
        constraints = [models.CheckConstraint(condition=models.Q(mpn_id__regex=r"^[0-9]+$"), name="mpn_id_digits")]

    def __str__(self):
        return f"{self.mpn_id} – {self.location}"

    @property
    def programs(self) -> list[str]:
        return [program for program, field in self.PROGRAM_FIELDS.items() if getattr(self, field)]

    def is_enrolled(self, program: str) -> bool:
        return bool(getattr(self, self.PROGRAM_FIELDS[Program(program)]))

    def set_programs(self, programs) -> None:
        for program, field in self.PROGRAM_FIELDS.items():
            setattr(self, field, program in programs)


STAFF_MEMBERSHIP_REFUSED = _(
    "A vendor staff account cannot belong to a partner. Partner users and reviewers need separate accounts."
)


class Role(models.TextChoices):
    INCENTIVES_ADMIN = "incentives_admin", _("Incentives admin")
    INCENTIVES_USER = "incentives_user", _("Incentives user")
    BILLING_ADMIN = "billing_admin", _("Billing admin")
    GLOBAL_ADMIN = "global_admin", _("Global admin")


class Membership(models.Model):
    """A user's place in one partner, with one role. A partner user belongs to one partner."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="membership")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(role__in=Role.values), name="membership_role_valid")]

    def __str__(self):
        return f"{self.user} – {self.partner.name} ({self.get_role_display()})"

    def clean(self):
        super().clean()
        # A reviewer holding a membership would act as that partner (file, comment, read its
        # data) while arbitrating against its competitors. Enforced by a trigger too
        # (migration 0002), since a check constraint cannot look at another table.
        # The user as given, not as stored: on the admin's user page the membership is
        # checked against the staff status being saved with it.
        if self.user_id is not None and (self.user.is_staff or self.user.is_superuser):
            # Not tied to the user field: on the admin's user page it is a hidden field,
            # whose errors are not shown.
            raise ValidationError(STAFF_MEMBERSHIP_REFUSED)


class PasswordResetRequest(models.Model):
    """One request for a password reset link, kept for the rate limit's window only.

    The address is kept as a keyed hash: the count needs to recognise it, not to read it,
    and most addresses typed here may belong to nobody."""

    email_digest = models.CharField(max_length=64, db_index=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    requested_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"Password reset request at {self.requested_at:%Y-%m-%d %H:%M}"
