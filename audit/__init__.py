"""The audit trail: who changed what and who looked at which record (django-auditlog underneath).

This package knows no Chairside model. The apps register their models with auditlog in their
own `ready()`; pages and the admin ask `audit.history` for the entries about the rows they show.
"""
