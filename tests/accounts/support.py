"""Helpers for the signing-in tests: an authenticator app's code, a session past the second step."""

from __future__ import annotations

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


def app_for(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def code_now(key_hex: str | bytes) -> str:
    """The 6 digits an authenticator app shows now for this hex key."""
    key = bytes.fromhex(key_hex) if isinstance(key_hex, str) else key_hex
    return f"{TOTP(key).token():06d}"


def log_in_with_two_steps(client, user) -> TOTPDevice:
    """Sign the user in with a session that has passed the second step, as the code page leaves it."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or app_for(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device
