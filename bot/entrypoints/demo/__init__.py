"""`discharge-bot demo`: the real app through twelve weeks of a synthetic caseload."""
