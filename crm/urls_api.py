from django.urls import path

from crm import api_v1

urlpatterns = [
    path("contacts", api_v1.ContactListApi.as_view(), name="api-v1-contacts"),
    path("contacts/<str:contact_id>", api_v1.ContactDetailApi.as_view(), name="api-v1-contact"),
    path("tickets", api_v1.TicketListApi.as_view(), name="api-v1-tickets"),
    path("tickets/<str:ticket_id>", api_v1.TicketDetailApi.as_view(), name="api-v1-ticket"),
]
