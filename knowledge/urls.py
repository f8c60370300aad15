"""URLs of the knowledge app (namespace `knowledge`): knowledge base, policies, the
feedback loop, search, and the agent documents at stable addresses."""
from django.urls import path

from knowledge import views

app_name = "knowledge"

urlpatterns = [
    path("knowledge/", views.entry_list, name="entry_list"),
    path("knowledge/ai-knowledge-base.yaml", views.knowledge_yaml, name="knowledge_yaml"),
    path("knowledge/<str:key>/", views.entry_detail, name="entry_detail"),
    path("policies/", views.policy_list, name="policy_list"),
    path("policies.md", views.policies_markdown, name="policies_markdown"),
    path("policies/<int:number>/", views.policy_detail, name="policy_detail"),
    path("loop/", views.loop_gaps, name="loop_gaps"),
    path("insights/", views.insights_page, name="insights"),
    path("insights.json", views.insights_json, name="insights_json"),
    path("insights.csv", views.insights_csv, name="insights_csv"),
    path("links/", views.link, name="link"),
    path("search/", views.search_page, name="search"),
]
