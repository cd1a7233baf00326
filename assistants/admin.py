"""Assistants, conversations and messages in the admin console (SPEC §8).

Support staff view everything here; only superusers change it
(``permissions.may_change_in_admin``). Secrets are write-only: a blank password
input that never shows what is stored, encrypted by ``assistant_admin_save``.
Conversations and messages are records of what was said: nobody edits them, and
their bodies (untrusted text) are shown escaped, as the admin always does.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.text import Truncator
from django.views.decorators.debug import sensitive_post_parameters

from accounts.actors import Actor
from assistants.models import Assistant, AssistantGrant, Conversation, FaqEntry, Message
from assistants.permissions import may_change_in_admin
from assistants.services import assistant_admin_delete, assistant_admin_save
from assistants.sms_out import sms_status_callback_url, sms_webhook_url
from core.admin_base import ReadOnlyAdmin
from core.origins import MAX_ORIGINS, normalize_origin

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldsetSpec  # the stubs' name for what get_fieldsets returns

SECRET_INPUTS = ("twilio_auth_token", "identity_secret")
THEME_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
NEEDS_SECRET = "Type an identity secret below first: without one, no visitor can be verified."  # noqa: S105  (a message)


def _secret_input() -> forms.PasswordInput:
    return forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password", "spellcheck": "false"})


class AssistantAdminForm(forms.ModelForm):
    """The settings the in-app API takes, checked the same way; secrets blank unless typed anew."""

    twilio_auth_token = forms.CharField(
        label="New Twilio auth token",
        required=False,
        max_length=128,
        widget=_secret_input(),
        help_text="Write-only: leave blank to keep the stored token; what you type replaces it.",
    )
    identity_secret = forms.CharField(
        label="New identity secret",
        required=False,
        min_length=16,  # it signs visitors' identities: nothing guessable
        max_length=128,
        widget=_secret_input(),
        help_text="Write-only: leave blank to keep the stored secret; what you type replaces it.",
    )

    class Meta:
        model = Assistant
        fields = [
            "workspace",
            "name",
            "visibility",
            "widget_enabled",
            "allowed_origins",
            "greeting",
            "help_text",
            "theme",
            "lead_capture",
            "identity_verification",
            "sms_number",
            "twilio_messaging_service_sid",
            "twilio_account_sid",
        ]

    def clean_allowed_origins(self) -> list[str]:
        """What the widget trusts: the in-app API's rules (``core/origins.py``)."""
        value = self.cleaned_data.get("allowed_origins") or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise forms.ValidationError('A list of origins, e.g. ["https://shop.example.com"].')
        if len(value) > MAX_ORIGINS:
            raise forms.ValidationError(f"At most {MAX_ORIGINS} origins.")
        try:
            return sorted({normalize_origin(v) for v in value})
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_theme(self) -> dict[str, str]:
        """Only ``{"color": "#rrggbb"}``, as the in-app API takes: the widget gets nothing else to style itself."""
        value = self.cleaned_data.get("theme") or {}
        if (
            not isinstance(value, dict)
            or set(value) - {"color"}
            or not all(isinstance(color, str) and THEME_COLOR.fullmatch(color) for color in value.values())
        ):
            raise forms.ValidationError('Only a colour, e.g. {"color": "#4f46e5"}.')
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        verification = cleaned.get("identity_verification")
        has_secret = self.instance.has_identity_secret or cleaned.get("identity_secret")
        if verification and verification != Assistant.IdentityVerification.OFF and not has_secret:
            self.add_error("identity_verification", NEEDS_SECRET)
        return cleaned


class FaqEntryInline(admin.TabularInline):
    model = FaqEntry
    extra = 0
    max_num = Assistant.MAX_FAQ_ENTRIES
    fields = ["position", "question", "answer"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_change_in_admin(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_change_in_admin(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_change_in_admin(request.user)


class AssistantGrantInline(admin.TabularInline):
    """Shown, never edited: grants go to active members only, through the app (audited, SPEC §1)."""

    model = AssistantGrant
    extra = 0
    fields = readonly_fields = ("user", "granted_by", "created_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _sms_urls(request: HttpRequest, obj: Assistant | None) -> str:
    """The two URLs to paste into Twilio's console, shown read-only once the assistant exists."""
    if obj is None:
        return "The webhook URL to give Twilio is shown here once the assistant is saved."
    return format_html(
        "In Twilio's console, for the number (Phone Numbers → Active numbers → Messaging) or the "
        "Messaging Service (Integration): <b>A message comes in</b> → Webhook, HTTP POST, "
        '<code class="sms-webhook-url">{}</code>. Parley gives Twilio the status callback '
        '<code class="sms-status-callback-url">{}</code> with every message it sends.',
        sms_webhook_url(obj, request),
        sms_status_callback_url(obj, request),
    )


@admin.register(Assistant)
class AssistantAdmin(admin.ModelAdmin):
    form = AssistantAdminForm
    list_display = ["name", "workspace", "visibility", "widget_enabled", "created_at"]
    list_filter = ["visibility", "widget_enabled"]
    search_fields = ["name", "public_id", "workspace__name"]
    list_select_related = ["workspace"]
    autocomplete_fields = ["workspace"]
    exclude = [  # not even as ciphertext
        "identity_secret_encrypted",
        "previous_identity_secret_encrypted",
        "twilio_auth_token_encrypted",
    ]
    inlines = [FaqEntryInline, AssistantGrantInline]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> _FieldsetSpec:
        """The secret inputs only for those who may type into them; the stored id and dates once it exists."""
        writes = may_change_in_admin(request.user)
        about = ("public_id", "created_by", "created_at", "updated_at") if obj is not None else ()
        identity = ("identity_verification", "identity_secret_status", *(("identity_secret",) if writes else ()))
        sms = ("sms_number", "twilio_messaging_service_sid", "twilio_account_sid", "twilio_auth_token_status")
        return [
            (None, {"fields": ("workspace", "name", "visibility", *about)}),
            (
                "Widget",
                {"fields": ("widget_enabled", "allowed_origins", "greeting", "help_text", "theme", "lead_capture")},
            ),
            ("Identity verification", {"fields": identity}),
            (
                "SMS",
                {"fields": (*sms, *(("twilio_auth_token",) if writes else ())), "description": _sms_urls(request, obj)},
            ),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # An assistant stays in its workspace: its grants and conversations belong there.
        readonly = ["public_id", "created_by", "created_at", "updated_at"]
        return [*readonly, "identity_secret_status", "twilio_auth_token_status", *(["workspace"] if obj else [])]

    @admin.display(description="Identity secret")
    def identity_secret_status(self, obj: Assistant) -> str:
        return "set" if obj.has_identity_secret else "not set"

    @admin.display(description="Twilio auth token")
    def twilio_auth_token_status(self, obj: Assistant) -> str:
        return "set" if obj.has_twilio_auth_token else "not set"

    @method_decorator(sensitive_post_parameters(*SECRET_INPUTS))
    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """Error reports never carry the secrets typed into the form."""
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: Assistant, form: Any, change: bool) -> None:
        """Only a new assistant is written here (its inlines need its id): see ``save_related``."""
        if not change:
            obj.save()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The FAQ first, then the assistant through its service, so one audit event can name "faq" too."""
        super().save_related(request, form, formsets, change)
        assistant_admin_save(
            assistant=form.instance,
            actor=Actor.for_request(request),
            created=not change,
            faq_changed=any(formset.model is FaqEntry and formset.has_changed() for formset in formsets),
            twilio_auth_token=form.cleaned_data.get("twilio_auth_token", ""),
            identity_secret=form.cleaned_data.get("identity_secret", ""),
        )

    def delete_model(self, request: HttpRequest, obj: Assistant) -> None:
        assistant_admin_delete(assistant=obj, actor=Actor.for_request(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Assistant]) -> None:
        for assistant in queryset.select_related("workspace"):
            assistant_admin_delete(assistant=assistant, actor=Actor.for_request(request))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return may_change_in_admin(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_change_in_admin(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_change_in_admin(request.user)


class ChatAdmin(ReadOnlyAdmin):
    """What was said is kept as it was: no add, no change; superusers may delete."""

    superusers_delete = True


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = readonly_fields = ("created_at", "role", "body", "author", "delivery_status")
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(ChatAdmin):
    list_display = ["__str__", "assistant", "workspace", "channel", "updated_at"]
    list_filter = ["channel"]
    search_fields = ["public_id", "title", "assistant__name", "workspace__name", "user__email"]
    list_select_related = ["assistant", "workspace"]
    fields = readonly_fields = (
        "public_id",
        "workspace",
        "assistant",
        "channel",
        "user",
        "visitor_id",
        "title",
        "created_at",
    )
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(ChatAdmin):
    list_display = ["created_at", "conversation", "role", "short_body", "delivery_status"]
    list_filter = ["role", "delivery_status", "conversation__channel"]
    search_fields = ["public_id", "conversation__public_id"]
    list_select_related = ["conversation"]
    ordering = ["-created_at", "-id"]
    fields = readonly_fields = ("public_id", "conversation", "role", "body", "author", "delivery_status", "created_at")

    @admin.display(description="Body")
    def short_body(self, obj: Message) -> str:
        return Truncator(obj.body).chars(80)
