from django.urls import path

from templates_app import views

app_name = "templates_app"
urlpatterns = [
    path("", views.suggestion_queue, name="queue"),
    path("<str:lead_id>/", views.suggestion_detail, name="detail"),
]
