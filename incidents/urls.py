"""URLs of the incidents app (namespace `incidents`)."""
from django.urls import path

from incidents.views import access as access_views
from incidents.views import action_items as action_item_views
from incidents.views import autosave, pages
from incidents.views import live as live_views
from incidents.views import meeting as meeting_views
from incidents.views import meeting_record as meeting_record_views

app_name = "incidents"

urlpatterns = [
    path("", pages.dashboard, name="dashboard"),
    path("postmortems/", pages.postmortem_list, name="postmortem_list"),
    path("postmortems/new/", pages.postmortem_create, name="postmortem_create"),
    path("postmortems/<uuid:pk>/", pages.postmortem_detail, name="postmortem_detail"),
    path("postmortems/<uuid:pk>/field/<str:name>/", autosave.postmortem_field,
         name="postmortem_field"),
    path("postmortems/<uuid:pk>/live/", live_views.live_poll, name="live_poll"),
    path("postmortems/<uuid:pk>/live/leave/", live_views.live_leave, name="live_leave"),
    path("postmortems/<uuid:pk>/live/<int:meeting_id>/next/", live_views.live_next_field,
         name="live_next_field"),
    path("postmortems/<uuid:pk>/fix/deferred/", autosave.postmortem_fix_deferred,
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
    path("postmortems/<uuid:pk>/<str:kind>/add/", autosave.row_add, name="row_add"),
    path("postmortems/<uuid:pk>/<str:kind>/<int:row_id>/", autosave.row_update, name="row_update"),
    path("postmortems/<uuid:pk>/<str:kind>/<int:row_id>/remove/", autosave.row_remove,
         name="row_remove"),
    path("postmortems/<uuid:pk>/finalize/", pages.postmortem_finalize, name="postmortem_finalize"),
    path("postmortems/<uuid:pk>/discard/", pages.postmortem_discard, name="postmortem_discard"),
    path("postmortems/<uuid:pk>/amendments/", pages.amendment_create, name="amendment_create"),
    path("postmortems/<uuid:pk>/event/", meeting_views.event_set, name="event_set"),
    path("postmortems/<uuid:pk>/meeting/", meeting_views.meeting_schedule,
         name="meeting_schedule"),
    path("postmortems/<uuid:pk>/meeting/<int:meeting_id>/invitation.ics",
         meeting_views.meeting_invitation, name="meeting_invitation"),
    path("postmortems/<uuid:pk>/meeting/<int:meeting_id>/<str:change>/",
         meeting_views.meeting_change, name="meeting_change"),
    path("postmortems/<uuid:pk>/markdown/", pages.postmortem_markdown, name="postmortem_markdown"),
    path("postmortems/<uuid:pk>/access/", access_views.access_set, name="postmortem_access"),
    path("postmortems/<uuid:pk>/domain/", action_item_views.domain_set, name="domain_set"),
    path("postmortems/<uuid:pk>/action-items/", action_item_views.action_item_add,
         name="action_item_add"),
    path("action-items/<int:item_id>/<str:change>/", action_item_views.action_item_change,
         name="action_item_change"),
]
