"""discharge-bot: carries clinicians through closing a client's file after inactivity."""

__version__ = "0.1.0"
