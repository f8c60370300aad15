"""URLs of the runbooks app (namespace `runbooks`)."""
from django.urls import path

from runbooks import views

app_name = "runbooks"

urlpatterns = [
    path("", views.runbook_list, name="list"),
    path("new/", views.create, name="create"),
    path("tasks/", views.task_index, name="tasks"),
    path("graph/", views.graph_page, name="graph"),
    path("<str:key>/", views.detail, name="detail"),
    path("<str:key>/edit/", views.edit, name="edit"),
    path("<str:key>/reviewed/", views.reviewed, name="reviewed"),
    path("<str:key>/history/", views.history, name="history"),
    path("<str:key>/runs/", views.run_start, name="run_start"),
    path("<str:key>/runs/<int:run_id>/", views.run_detail, name="run_detail"),
    path("<str:key>/runs/<int:run_id>/items/<int:position>/", views.run_record,
         name="run_record"),
]
