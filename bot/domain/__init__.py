"""The pure core: the inactivity policy, the discharge checklist and the working-hours calendar.

Nothing here touches Slack, SQL or the wall clock; `now` is always passed in.
"""
