"""**+ Customer association**, mounted at /incentives/customer-associations/ (namespace "claims")."""

from django.urls import path

from . import wizard

urlpatterns = [
    path("new/", wizard.start, name="new"),
    path("new/activity/", wizard.activity, name="new_activity"),
    path("new/associate-customer/", wizard.associate, name="new_associate"),
    path("<int:pk>/details/", wizard.draft_details, name="draft_details"),
    path("<int:pk>/products/", wizard.draft_items, name="draft_items"),
    path("<int:pk>/contacts/", wizard.draft_contacts, name="draft_contacts"),
    path("<int:pk>/proof-of-execution/", wizard.draft_proof, name="draft_proof"),
    path("<int:pk>/proof-of-execution/<int:proof_pk>/remove/", wizard.draft_proof_remove, name="draft_proof_remove"),
    path("<int:pk>/submit/", wizard.draft_submit, name="draft_submit"),
    path("<int:pk>/submit/confirm/", wizard.submit, name="submit"),
    path("<int:pk>/delete/", wizard.draft_delete, name="draft_delete"),
]
