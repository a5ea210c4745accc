"""Booking: one dose or a whole series, reschedule, cancel, no-show; the booking pages."""
