"""Incentives pages, mounted at /incentives/ (namespace "claims")."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("customer-associations/", views.claim_list, name="list"),
    path("customer-associations/export.csv", views.claim_export, name="export"),
    path("customer-associations/<int:pk>/", views.claim_detail, name="detail"),
    path("customer-associations/<int:pk>/comments/", views.claim_comment, name="comment"),
    path("customer-associations/<int:pk>/proof-of-execution/add/", views.claim_add_proof, name="proof_add"),
    path("customer-associations/<int:pk>/dispute/", views.claim_dispute, name="dispute"),
    path("customer-associations/<int:pk>/disassociate/", views.claim_disassociate, name="disassociate"),
    path("customer-associations/files/<int:pk>/", views.proof_download, name="proof_download"),
    path("customer-associations/proof-of-execution-template/", views.proof_template, name="proof_template"),
]
