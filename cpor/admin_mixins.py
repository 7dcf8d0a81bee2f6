"""What the admin pages of several apps share."""


class ReadOnlyAdminMixin:
    """Nobody adds, changes or deletes through this admin page: another part of the site is the
    only writer (the directory feed, the claim services)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
