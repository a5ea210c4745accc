"""A clinic's capacity: the forecast of the load its courses will need, and the utilisation the roster records."""
