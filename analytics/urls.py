from django.urls import path

from analytics import views

app_name = "analytics"
urlpatterns = [
    path("", views.dashboard, name="overview"),
    path("<slug:page>/", views.dashboard, name="page"),
]
