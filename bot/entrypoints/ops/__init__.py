"""The practice admin's commands beyond running the bot: demo, doctor, audit, export."""
