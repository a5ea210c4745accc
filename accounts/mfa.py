"""Two-step sign-in: setting up an authenticator app (TOTP), recovery codes, checking a code.

Built on django-otp's devices: a confirmed `TOTPDevice` for the app, and a `StaticDevice`
whose tokens are the recovery codes, each accepted once. Both devices throttle wrong codes
(each failure doubles the wait before the next try).
"""

from __future__ import annotations

import math
import re
from base64 import b32encode
from binascii import unhexlify

import segno
from django.db import transaction
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

RECOVERY_CODE_COUNT = 10
# The secret offered on the setup page waits in the session until a code from it is typed back.
PENDING_SECRET_KEY = "mfa_pending_secret"  # noqa: S105 - the session key's name, not a secret
APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


class CodeRejected(Exception):
    """The code typed does not match; the message says what to do."""


def app_device_for(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def pending_secret(session) -> str:
    """The hex key offered to this session for a new authenticator app, made on first use."""
    key = session.get(PENDING_SECRET_KEY)
    if not key:
        key = random_hex(20)
        session[PENDING_SECRET_KEY] = key
    return key


def setup_details(*, user, key: str) -> dict:
    """What the setup page shows: the secret to type in, the otpauth URI, and its QR code as SVG."""
    device = TOTPDevice(user=user, key=key, name=APP_DEVICE_NAME)
    uri = device.config_url
    secret = b32encode(unhexlify(key)).decode()
    qr = segno.make(uri, error="m")
    return {
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "uri": uri,
        # Inline SVG, drawn with attributes only (no style attribute), so a strict CSP shows it.
        "qr_svg": qr.svg_inline(scale=5, dark="#000", light="#fff", title="QR code for your authenticator app"),
    }


def _digits(code: str) -> str:
    return re.sub(r"\s", "", code or "")


@transaction.atomic
def mfa_setup_confirm(*, request, key: str, code: str) -> list[str]:
    """Save the authenticator app once a code from it matches; return the new recovery codes.

    Replaces the user's earlier app and recovery codes, and marks this session as having passed
    the second step. Raises CodeRejected when the code does not match the secret.
    """
    user = request.user
    totp = TOTP(unhexlify(key), step=30, digits=6)
    code = _digits(code)
    # One step either way: a phone's clock a few seconds off still works.
    if not (code.isdecimal() and len(code) == 6 and totp.verify(int(code), tolerance=1)):
        raise CodeRejected(
            "That code does not match. Check the app shows Chairside, then type the 6 digits it shows now."
        )
    TOTPDevice.objects.filter(user=user).delete()
    device = TOTPDevice.objects.create(
        user=user, key=key, name=APP_DEVICE_NAME, confirmed=True, last_t=totp.t(), drift=totp.drift
    )
    codes = recovery_codes_replace(user=user)
    request.session.pop(PENDING_SECRET_KEY, None)
    otp_login(request, device)
    return codes


@transaction.atomic
def recovery_codes_replace(*, user) -> list[str]:
    """Ten new recovery codes for the user, replacing any left; shown once, stored as django-otp keeps them."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def mfa_verify(*, request, code: str) -> None:
    """Pass the second step with a code from the app, or a recovery code (used up by this).

    Raises CodeRejected with a sentence the person can act on.
    """
    # The wrong-code count is committed before the error is raised, so throttling holds.
    device, wait = _code_check(user=request.user, code=code)
    if wait:
        raise CodeRejected(
            f"After a wrong code the next try must wait a little: wait {wait} second{'s' if wait != 1 else ''}, "
            "then type the code your app shows at that moment."
        )
    if device is None:
        raise CodeRejected(
            "That code does not match. Type the 6 digits your authenticator app shows now, or one of your "
            "recovery codes."
        )
    otp_login(request, device)


@transaction.atomic
def _code_check(*, user, code: str):
    """The device that accepts the code, or None; and the seconds to wait while wrong codes hold tries back."""
    code = _digits(code).lower().replace("-", "")
    # Six digits are the app's; anything else can only be a recovery code.
    model = TOTPDevice if code.isdecimal() else StaticDevice
    for device in model.objects.select_for_update().filter(user=user, confirmed=True):
        allowed, details = device.verify_is_allowed()
        if not allowed:
            return None, max(1, math.ceil((details["locked_until"] - timezone.now()).total_seconds()))
        if device.verify_token(code):
            return device, 0
    return None, 0


@transaction.atomic
def mfa_remove(*, user) -> None:
    """Take away a user's authenticator app and recovery codes (a lost phone); they set it up again."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
