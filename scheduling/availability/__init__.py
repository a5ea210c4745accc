"""Availability: which chair slots fit a dose, and why a chosen slot does not."""
