"""A public list of audit events paginated by ``ApiCursorPagination``, for its tests only."""

from django.urls import path
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny

from accounts.models import AuditEvent
from core.pagination import ApiCursorPagination


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "action", "created_at"]


class AuditEventList(ListAPIView):
    queryset = AuditEvent.objects.all()
    serializer_class = AuditEventSerializer
    pagination_class = ApiCursorPagination
    authentication_classes = []
    permission_classes = [AllowAny]


urlpatterns = [path("api/v1/test/audit-events", AuditEventList.as_view())]
