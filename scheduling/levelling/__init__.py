"""Levelling a clinic day: the manager's proposal of moves, its page, and applying it through the booking services."""
