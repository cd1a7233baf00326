"""Workspace API keys: only a SHA-256 digest and a display hint are stored."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Workspace


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def usable(self) -> ApiKeyQuerySet:
        """Neither revoked nor expired."""
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )

    def retired(self) -> ApiKeyQuerySet:
        """Revoked or expired."""
        now = timezone.now()
        return self.filter(models.Q(revoked_at__isnull=False) | models.Q(expires_at__lte=now))


class ApiKey(models.Model):
    """A key that acts for its whole workspace. Created only through ``apikeys.services``."""

    class Kind(models.TextChoices):
        SECRET = "secret", "Secret"
        PUBLISHABLE = "publishable", "Publishable"

    MAX_NAME_LENGTH = 100
    MAX_ALLOWED_IPS = 50
    # last_used_at / last_used_ip are written at most this often per key.
    LAST_USED_WRITE_INTERVAL = timedelta(minutes=1)

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SECRET)
    name = models.CharField(max_length=MAX_NAME_LENGTH)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=32, editable=False)
    scopes = models.JSONField(default=list, blank=True)
    allowed_ips = models.JSONField(default=list, blank=True)
    allowed_origins = models.JSONField(default=list, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Requests per period, e.g. "500/h"; empty means settings.API_RATE_LIMIT.
    rate_limit = models.CharField(max_length=20, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rolled_from = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="rolled_to")
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Bumped by every change a cached record must not outlive (see apikeys/cache.py).
    cache_version = models.PositiveBigIntegerField(default=1, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"])]
        permissions = [("revoke_apikey", "Can revoke API keys")]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.hint})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return not self.is_revoked and not self.is_expired

    @property
    def status(self) -> str:
        if self.is_revoked:
            return "revoked"
        if self.is_expired:
            return "expired"
        return "active"

    @property
    def effective_rate_limit(self) -> str:
        return self.rate_limit or settings.API_RATE_LIMIT


class IdempotencyRecord(models.Model):
    """The first answer to a ``POST`` made with an ``Idempotency-Key``, per API key (SPEC §10).

    Claimed (a unique row) before the work starts, so a concurrent retry finds it;
    the answer is stored encrypted (it may show a secret once, as a new webhook's
    does) in the transaction of the work itself.
    """

    MAX_KEY_LENGTH = 255
    TTL = timedelta(hours=24)
    # A claim older than this belongs to a request that died: its work was rolled back.
    STALE_CLAIM = timedelta(seconds=60)

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=MAX_KEY_LENGTH)
    fingerprint = models.CharField(max_length=64)  # SHA-256 of method, path and body
    status_code = models.PositiveSmallIntegerField(null=True)  # null while the first request runs
    response_encrypted = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_unique")]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code or 'running'})"


class KeyInvalidation(models.Model):
    """A key changed (revoked, rolled, its workspace's plan or status): the outbox of its cache tombstone.

    Written in the transaction of the change, so it exists exactly when the change does.
    Every process replays the recent rows into Redis once a second, off the request
    path (``apikeys.selectors.replay_invalidations``): a revoking process that could not reach Redis, and died
    before it could, leaves nothing stale behind.
    """

    digest = models.CharField(max_length=64)
    version = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.digest[:8]}… v{self.version}"


class KeyReminder(models.Model):
    """One reminder about one key (``expires_7d``, ``expires_1d``), claimed before it is sent.

    The unique row is what makes each reminder go once, across restarts and worker hosts.
    """

    class Kind(models.TextChoices):
        EXPIRES_7D = "expires_7d", "7 days before it expires"
        EXPIRES_1D = "expires_1d", "1 day before it expires"

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "kind"], name="apikeys_reminder_once")]

    def __str__(self) -> str:
        return f"{self.kind} for key {self.api_key_id}"


class StaleKeyDigest(models.Model):
    """The weekly stale-keys e-mail of one workspace for one ISO week (its Monday), claimed before it is sent."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    week = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "week"], name="apikeys_stale_digest_once")]

    def __str__(self) -> str:
        return f"stale keys of workspace {self.workspace_id}, week of {self.week}"


class ApiRequestLog(models.Model):
    """One ``/api/v1/`` request made with a key, refused ones included (kept ``API_LOG_RETENTION_DAYS``).

    Never written on the request path: requests are buffered and stored in batches
    (``apikeys.usage``). ``path`` keeps the query's parameter names, never their values;
    ``entry_id`` is minted when the request is recorded, so a batch stored twice (a
    worker died between storing and acknowledging it) is stored once.
    """

    MAX_PATH_LENGTH = 1000
    MAX_USER_AGENT_LENGTH = 300

    entry_id = models.UUIDField(unique=True, editable=False)
    # No index of its own: apikeys_log_key_time (api_key, -created_at) serves the key's lookups.
    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="request_logs", db_index=False)
    created_at = models.DateTimeField()
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=MAX_PATH_LENGTH)
    status = models.PositiveSmallIntegerField()
    error_code = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=MAX_USER_AGENT_LENGTH, blank=True)
    duration_ms = models.FloatField()
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["api_key", "-created_at"], name="apikeys_log_key_time"),
            models.Index(fields=["created_at"], name="apikeys_log_time"),
        ]
        verbose_name = "API request"

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status}"


class ApiKeyDailyUsage(models.Model):
    """Requests per key and UTC day, successes (< 400) and errors apart: what the usage chart draws.

    Counted by the same batch that stores the ``ApiRequestLog`` rows, so both agree.
    """

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="daily_usage")
    day = models.DateField()
    successes = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "day"], name="apikeys_daily_usage_once")]
        ordering = ["day"]

    def __str__(self) -> str:
        return f"key {self.api_key_id} on {self.day}: {self.successes} ok, {self.errors} errors"


class KeyNetwork(models.Model):
    """A network (an IPv4 /24, an IPv6 /48) a key was used from, with first and last seen.

    Kept up to date by the batch that stores the request log, never on the request
    path. A key's first use from a network not seen in the last 30 days alerts its
    workspace (``alerted_at``: when that use was mailed; at most one mail per key per hour).
    """

    # A network a key has not used for this long is new again; rows not seen for longer are pruned.
    NEW_AFTER = timedelta(days=30)

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="networks")
    network = models.CharField(max_length=50)  # "203.0.113.0/24", "2001:db8:1::/48"
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    requests = models.PositiveBigIntegerField(default=0)
    alert_pending = models.BooleanField(default=False)
    alerted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "network"], name="apikeys_key_network_once")]
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"{self.network} for key {self.api_key_id}"
