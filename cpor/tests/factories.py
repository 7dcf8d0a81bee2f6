import factory

from cpor.models import Membership, MpnId, Partner, Role, User

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    partner_id = factory.Sequence(lambda n: str(5000000 + n))
    name = factory.Sequence(lambda n: f"Partner {n}")
    country = "FR"


class MpnIdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MpnId

    mpn_id = factory.Sequence(lambda n: str(6000000 + n))
    partner = factory.SubFactory(PartnerFactory)
    location = "Paris, FR"
    osa_sell = True
    osu_m365 = True
    osu_bizapps = True


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    partner = factory.SubFactory(PartnerFactory)
    role = Role.INCENTIVES_ADMIN


def partner_user(partner=None, role=Role.INCENTIVES_ADMIN, **user_fields):
    """A signed-in-able user holding `role` in `partner` (a new partner if none)."""
    membership = MembershipFactory(partner=partner or PartnerFactory(), role=role, user=UserFactory(**user_fields))
    return membership.user
