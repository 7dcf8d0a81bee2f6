from django.urls import path

from . import optout_views

urlpatterns = [path("<str:token>/", optout_views.opt_out, name="optout")]
