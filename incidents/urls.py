"""URLs of the incidents app (namespace `incidents`)."""
from django.urls import path

from incidents import action_item_views, meeting_record_views, meeting_views, views

app_name = "incidents"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("postmortems/", views.postmortem_list, name="postmortem_list"),
    path("postmortems/new/", views.postmortem_create, name="postmortem_create"),
    path("postmortems/<uuid:pk>/", views.postmortem_detail, name="postmortem_detail"),
    path("postmortems/<uuid:pk>/field/<str:name>/", views.postmortem_field, name="postmortem_field"),
    path("postmortems/<uuid:pk>/fix/deferred/", views.postmortem_fix_deferred,
         name="postmortem_fix_deferred"),
    path("postmortems/<uuid:pk>/scan/<str:mode>/", meeting_record_views.scan_answer,
         name="scan_answer"),
    path("postmortems/<uuid:pk>/scan/<str:mode>/factor/", meeting_record_views.scan_factor,
         name="scan_factor"),
    path("postmortems/<uuid:pk>/pending/<str:field>/", meeting_record_views.pending_mark,
         name="pending_mark"),
    path("postmortems/<uuid:pk>/factors/<int:factor_id>/review/",
         meeting_record_views.factor_review, name="factor_review"),
    path("postmortems/<uuid:pk>/history/<str:field>/", meeting_record_views.field_history,
         name="field_history"),
    path("postmortems/<uuid:pk>/<str:kind>/add/", views.row_add, name="row_add"),
    path("postmortems/<uuid:pk>/<str:kind>/<int:row_id>/", views.row_update, name="row_update"),
    path("postmortems/<uuid:pk>/<str:kind>/<int:row_id>/remove/", views.row_remove,
         name="row_remove"),
    path("postmortems/<uuid:pk>/finalize/", views.postmortem_finalize, name="postmortem_finalize"),
    path("postmortems/<uuid:pk>/discard/", views.postmortem_discard, name="postmortem_discard"),
    path("postmortems/<uuid:pk>/amendments/", views.amendment_create, name="amendment_create"),
    path("postmortems/<uuid:pk>/event/", meeting_views.event_set, name="event_set"),
    path("postmortems/<uuid:pk>/meeting/", meeting_views.meeting_schedule,
         name="meeting_schedule"),
    path("postmortems/<uuid:pk>/meeting/<int:meeting_id>/<str:change>/",
         meeting_views.meeting_change, name="meeting_change"),
    path("postmortems/<uuid:pk>/costs/link/", views.postmortem_cost_link,
         name="postmortem_cost_link"),
    path("postmortems/<uuid:pk>/markdown/", views.postmortem_markdown, name="postmortem_markdown"),
    path("postmortems/<uuid:pk>/domain/", action_item_views.domain_set, name="domain_set"),
    path("postmortems/<uuid:pk>/action-items/", action_item_views.action_item_add,
         name="action_item_add"),
    path("action-items/<int:item_id>/<str:change>/", action_item_views.action_item_change,
         name="action_item_change"),
]
