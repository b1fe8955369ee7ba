"""Delivery: the outbox dispatcher (claims, retries, dead letters) and the Slack Web API client."""
