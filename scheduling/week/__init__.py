"""The week view: a clinic's chairs over a week, with the free start times."""
