"""Celery tasks of the core app (found by the worker's autodiscovery): the webhooks'."""
from core.webhooks.tasks import deliver_webhook, sweep_webhooks

__all__ = ["deliver_webhook", "sweep_webhooks"]
