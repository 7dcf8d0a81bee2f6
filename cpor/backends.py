"""How a signed-in user is read on each request."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class UserBackend(ModelBackend):
    """Django's ModelBackend, except that the user of a session is read with their partner
    membership and its partner in the same query: every partner page needs all three
    (cpor.access.membership_of), and a second query for them cost each page a round trip
    and its building in the ORM. A user with no membership is read with "none" known, so
    nothing asks again."""

    def get_user(self, user_id):
        users = get_user_model()._default_manager.select_related("membership__partner")
        try:
            user = users.get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
