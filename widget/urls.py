"""The widget's pages (the API's routes are in ``widget/urls_api.py``)."""

from django.urls import path

from widget import views

app_name = "widget"
urlpatterns = [
    path("demo/", views.demo, name="demo"),
]
