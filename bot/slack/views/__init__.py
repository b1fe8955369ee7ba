"""Block Kit builders: pure functions of plain values returning `slack_sdk.models` objects.

Nothing here reads the database, the clock or Slack; tests pin their output as golden JSON.
"""
