from django.urls import path

from apikeys import views

app_name = "apikeys"

urlpatterns = [
    path("api-keys/", views.key_list, name="list"),
    path("audit-log/", views.audit_log, name="audit-log"),
]
