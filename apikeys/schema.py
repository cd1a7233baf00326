"""OpenAPI description of API-key authentication for drf-spectacular."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "apikeys.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]  # drf-spectacular hook
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A secret key (wsk_live_…) as `Authorization: Bearer <key>` or `X-Api-Key: <key>`.",
        }
