"""Outbound webhooks: subscriptions, a transactional outbox of deliveries, signed delivery.

- events: the event types a subscription picks (docs/rules.md#webhook-events).
- outbox.emit(): writes one WebhookDelivery per matching subscription inside the caller's
  transaction (docs/rules.md#webhook-outbox).
- formats: the body for plain JSON, Slack and Microsoft Teams (docs/rules.md#webhook-formats).
- signing: Standard Webhooks headers (docs/rules.md#webhook-signing).
- sender: one attempt under a row lock, retries with exponential backoff
  (docs/rules.md#webhook-delivery).

core imports no other app: the incidents app builds its events (incidents.webhook_events).
"""
