"""A patient's answers from their messages: confirm attendance, cancel, ask for another time. No login."""
