from __future__ import annotations

from django import forms
from django.contrib.auth.forms import SetPasswordForm


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "text"}),
        help_text="The 6 digits your authenticator app shows now, or one of your recovery codes.",
    )


class SetupCodeForm(forms.Form):
    code = forms.CharField(
        label="Code from the app",
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text="Once the app shows Chairside, type the 6 digits it shows.",
    )


class StaffPasswordForm(SetPasswordForm):
    """A manager sets a colleague's new password; Django's password validators apply."""

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.fields["new_password1"].label = "New password"
        self.fields["new_password2"].label = "The new password again"

    def save(self, commit=True):
        # The staff service saves it (and lifts any lockout); the form only checks it.
        raise NotImplementedError("Use accounts.staff.staff_password_set.")
