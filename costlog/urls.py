"""URLs of the cost log (namespace `costlog`)."""
from django.urls import path

from costlog import views

app_name = "costlog"

urlpatterns = [
    path("", views.totals, name="totals"),
    path("totals.csv", views.totals_csv, name="totals_csv"),
    path("entries/", views.entry_list, name="entry_list"),
    path("entries/new/", views.entry_create, name="entry_create"),
    path("entries/preview/", views.entry_preview, name="entry_preview"),
    path("entries/resource-rows/", views.resource_row_add, name="resource_row_add"),
    path("entries/<int:pk>/", views.entry_detail, name="entry_detail"),
    path("entries/<int:pk>/correct/", views.entry_correct, name="entry_correct"),
    path("rates/", views.rate_list, name="rate_list"),
    path("postmortems/<uuid:pk>/link/", views.postmortem_link, name="postmortem_link"),
]
