"""The one error the operator commands raise for bad input (printed as is, exit status 2)."""


class OpsUsageError(Exception):
    """Bad input on the command line (exit status 2)."""
