"""Importing a clinic's patients, treatment courses and past doses from a CSV or XLSX file.

Every row is checked first; the file is imported all or nothing, through the patient and
course services, with the doses given written as completed visits and the stored next doses
refreshed in the same transaction. `manage.py import_patients` runs the same import.
"""
