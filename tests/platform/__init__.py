"""Tests of the platform adapters: generic webhook, Healthie webhook and API."""
