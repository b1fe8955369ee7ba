"""Entry points: the CLI, serve/worker, the HTTP front, the scheduler, and the one wiring place."""
