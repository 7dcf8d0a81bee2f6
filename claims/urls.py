app_name = "claims"

urlpatterns = []
