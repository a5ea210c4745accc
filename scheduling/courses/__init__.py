"""A treatment course's status: pausing or stopping it cancels its future appointments and reminders.

Switching a patient to another drug stops the course the same way and starts the new one.
"""
