"""Infusion reactions: the structured record a nurse writes, and the prescriber hold a grade 4 or 5 puts on a course."""
