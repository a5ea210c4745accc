"""The dosing rules: pure functions over a regimen's data and a course's dose history."""
