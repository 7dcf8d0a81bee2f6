"""The partner REST API, mounted at /api/v1/ (namespace "api"), with its OpenAPI document
and docs page."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("claims/", views.ClaimListCreate.as_view(), name="claims"),
    path("claims/<int:pk>/", views.ClaimDetail.as_view(), name="claim"),
    path("claims/<int:pk>/item-options/", views.ClaimItemOptions.as_view(), name="claim_item_options"),
    path("claims/<int:pk>/items/", views.ClaimItems.as_view(), name="claim_items"),
    path("claims/<int:pk>/contacts/", views.ClaimContacts.as_view(), name="claim_contacts"),
    path("claims/<int:pk>/proofs/", views.ClaimProofs.as_view(), name="claim_proofs"),
    path("claims/<int:pk>/proofs/<int:proof_id>/", views.ClaimProof.as_view(), name="claim_proof"),
    path("claims/<int:pk>/comments/", views.ClaimComments.as_view(), name="claim_comments"),
    path("claims/<int:pk>/submit/", views.ClaimSubmit.as_view(), name="claim_submit"),
    path("claims/<int:pk>/dispute/", views.ClaimDispute.as_view(), name="claim_dispute"),
    path("claims/<int:pk>/disassociate/", views.ClaimDisassociate.as_view(), name="claim_disassociate"),
    path("usage/", views.UsageList.as_view(), name="usage"),
    path("mpn-ids/", views.MpnIdList.as_view(), name="mpn_ids"),
]
