"""The Slack plumbing end to end over loopback HTTP: fake Web API, signed requests, front."""
