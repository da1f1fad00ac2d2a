from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from flywheel_site import views

urlpatterns = [
    path("", RedirectView.as_view(url="/dashboard/", permanent=False)),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("suggestions/", include("templates_app.urls")),
    path("dashboard/", include("analytics.urls")),
]
