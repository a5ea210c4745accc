"""A treatment course's status: pausing or stopping it cancels its future appointments and reminders."""
