"""Reminders: the outbox, the planner, the minute scan, the sender and the message content."""
