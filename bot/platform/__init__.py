"""Listening to the clinical platform: signed webhooks in, the Healthie API out."""
