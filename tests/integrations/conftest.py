"""The webhook receiver and worker of the webhooks tests serve the integrations too."""

from tests.webhooks.conftest import dev_targets, receiver  # noqa: F401  (fixtures, used by name)
