"""Local stand-ins for remote systems (Slack's Web API, a clinical platform), speaking real
HTTP on loopback. The demo runs the real app against them; the tests use the same ones."""
