"""URLs of the admins' webhook pages (namespace "webhooks")."""
from django.urls import path

from core.webhooks import views

app_name = "webhooks"
urlpatterns = [
    path("", views.subscription_list, name="subscriptions"),
    path("<int:subscription_id>/rotate/", views.subscription_rotate, name="subscription_rotate"),
    path("<int:subscription_id>/<str:change>/", views.subscription_active,
         name="subscription_active"),
    path("deliveries/", views.delivery_log, name="deliveries"),
    path("deliveries/<uuid:delivery_id>/redeliver/", views.delivery_redeliver, name="redeliver"),
]
