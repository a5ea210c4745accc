"""Reminders: the outbox, the planner, the minute scan, the sender, message content and channels.

`outbox` writes rows in the booking's transaction; `planner` adds the rows the courses'
next doses call for; `dispatcher` claims due rows; `sender` checks and sends one row;
`content` builds what it says and `channels` delivers it; `selectors` are the pages' reads.
"""
