"""Forms of the Settings → API Keys pages.

They parse what the browser sends into the arguments of ``apikeys.services``; the
rules themselves (names, scopes, plans, IPs, origins, rates) are checked there, and
the service's ``InvalidInput`` is mapped back onto these fields.

Dates are UTC, and the page says so: a key set to expire on a day works until the
last second of that day, UTC (stored as 23:59:59.999999 UTC, shown as that day).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone

from accounts.pages import add_service_errors
from accounts.permissions import plan_allows_scopes
from apikeys.models import ApiKey
from apikeys.scopes import PRESETS, SCOPES, grouped_scopes, is_write
from apikeys.services import ROLL_GRACE_CHOICES

EXPIRY_CHOICES = [
    ("never", "Never"),
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In 1 year"),
    ("date", "On a specific date"),
]
PRESET_LABELS = {"read_only": "Read only", "read_write": "Read & write"}
ROLL_GRACE_LABELS = {
    "now": "Immediately",
    "1h": "In 1 hour",
    "24h": "In 24 hours",
    "7d": "In 7 days",
}
RESOURCE_LABELS = {
    "contacts": "Contacts",
    "tickets": "Tickets",
    "chat": "Chat",
    "assistants": "Assistants",
    "events": "Events",
}
_ENTRY_SEPARATORS = re.compile(r"[\s,]+")


def split_entries(value: str) -> list[str]:
    """``"a, b\\nc"`` → ``["a", "b", "c"]``: one entry a line, or comma separated."""
    return [entry for entry in _ENTRY_SEPARATORS.split(value or "") if entry]


@dataclass(frozen=True)
class ScopeChoice:
    value: str
    label: str
    checked: bool
    disabled: bool

    @property
    def html_id(self) -> str:
        return "scope-" + self.value.replace(":", "-")


@dataclass(frozen=True)
class ScopeGroup:
    resource: str
    label: str
    choices: list[ScopeChoice]


class ApiKeyForm(forms.Form):
    """Create a key. Only types are checked here; ``api_key_create`` checks the rest."""

    name = forms.CharField(
        required=False,
        help_text="Something to recognise it by, such as the integration that uses it.",
        widget=forms.TextInput(
            attrs={
                "required": True,
                "maxlength": ApiKey.MAX_NAME_LENGTH,
                "autocomplete": "off",
                "placeholder": "e.g. Zapier production",
            }
        ),
    )
    kind = forms.ChoiceField(choices=ApiKey.Kind.choices, initial=ApiKey.Kind.SECRET, widget=forms.RadioSelect)
    scopes = forms.MultipleChoiceField(choices=list(SCOPES.items()), required=False)
    expiry = forms.ChoiceField(choices=EXPIRY_CHOICES, initial="never")
    expires_on = forms.DateField(
        required=False,
        label="Expiry date",
        help_text="Used with “On a specific date”. The key works until the end of that day, 23:59 UTC.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    allowed_ips = forms.CharField(
        required=False,
        label="Allowed IPs",
        help_text="One per line or comma separated: addresses or CIDR ranges. Empty allows any IP.",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "placeholder": "203.0.113.7\n10.0.0.0/8"}),
    )
    allowed_origins = forms.CharField(
        required=False,
        help_text="Sites that may use the key; https://*.example.com covers every subdomain. Empty allows any origin.",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "placeholder": "https://shop.example.com"}),
    )
    rate_limit = forms.IntegerField(
        required=False,
        label="Rate limit",
        min_value=1,
        max_value=10_000_000,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, plan: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plan = plan
        self.fields[
            "rate_limit"
        ].help_text = f"Requests per hour. Empty means the workspace default ({settings.API_RATE_LIMIT})."

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("expiry") == "date" and not cleaned.get("expires_on") and "expires_on" not in self.errors:
            self.add_error("expires_on", "Pick the date the key should expire on.")
        return cleaned

    # --- what the service receives

    def expires_at(self) -> datetime | None:
        """The chosen expiry; a date means the last instant of that day, UTC."""
        expiry = self.cleaned_data.get("expiry")
        if expiry == "date":
            return datetime.combine(self.cleaned_data["expires_on"], time.max, tzinfo=UTC)
        if expiry and expiry.isdigit():
            return timezone.now() + timedelta(days=int(expiry))
        return None

    def key_input(self) -> dict[str, Any]:
        """Keyword arguments for ``apikeys.services.api_key_create``."""
        data = self.cleaned_data
        rate = data.get("rate_limit")
        return {
            "name": data.get("name", ""),
            "kind": data["kind"],
            "scopes": data.get("scopes", []),
            "expires_at": self.expires_at(),
            "allowed_ips": split_entries(data.get("allowed_ips", "")),
            "allowed_origins": split_entries(data.get("allowed_origins", "")),
            "rate_limit": f"{rate}/h" if rate else "",
        }

    def add_service_errors(self, fields: dict[str, list[str]]) -> None:
        """Show an ``InvalidInput``'s messages next to the fields they concern."""
        if "expires_at" in fields:
            target = "expires_on" if self.cleaned_data.get("expiry") == "date" else "expiry"
            fields = {**fields, target: fields["expires_at"]}
            del fields["expires_at"]
        add_service_errors(self, fields)

    # --- what the template shows

    def checked_scopes(self) -> set[str]:
        value = self["scopes"].value() or []
        return {value} if isinstance(value, str) else set(value)

    def write_scopes_allowed(self) -> bool:
        return plan_allows_scopes(self.plan, [s for s in SCOPES if is_write(s)])

    def scope_groups(self) -> list[ScopeGroup]:
        """The scope checkboxes by resource; write scopes are disabled on ``free``."""
        checked = self.checked_scopes()
        return [
            ScopeGroup(
                resource=resource,
                label=RESOURCE_LABELS.get(resource, resource.title()),
                choices=[
                    ScopeChoice(
                        value=scope,
                        label=label,
                        checked=scope in checked,
                        disabled=not plan_allows_scopes(self.plan, [scope]),
                    )
                    for scope, label in scopes
                ],
            )
            for resource, scopes in grouped_scopes().items()
        ]

    def presets(self) -> list[dict[str, str]]:
        """Preset buttons: their value, label, and the scopes they select on this plan."""
        return [
            {"value": value, "label": PRESET_LABELS[value], "scopes": " ".join(self.preset_scopes(value))}
            for value in PRESETS
        ]

    def preset_scopes(self, preset: str) -> list[str]:
        return [scope for scope in PRESETS.get(preset, []) if plan_allows_scopes(self.plan, [scope])]


def preset_initial(data: Any, form: ApiKeyForm, preset: str) -> dict[str, Any]:
    """The values the user typed, with the preset's scopes checked: for a re-render without errors."""
    initial: dict[str, Any] = {name: data.get(name, "") for name in form.fields if name != "scopes"}
    initial["kind"] = initial["kind"] or ApiKey.Kind.SECRET
    initial["expiry"] = initial["expiry"] or "never"
    initial["scopes"] = form.preset_scopes(preset)
    return initial


class RollForm(forms.Form):
    """When the old key stops working after a roll."""

    grace = forms.ChoiceField(
        choices=[(value, ROLL_GRACE_LABELS.get(value, value)) for value in ROLL_GRACE_CHOICES],
        initial="now",
        widget=forms.RadioSelect,
    )

    def grace_period(self) -> timedelta:
        return ROLL_GRACE_CHOICES[self.cleaned_data["grace"]]
