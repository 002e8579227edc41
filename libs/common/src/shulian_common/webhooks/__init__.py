"""Signed webhooks for partner platforms: subscriptions, durable deliveries, a dispatcher."""
