"""The Slack surface: the Bolt app, its listeners, the Block Kit views and the outbox dispatcher."""
