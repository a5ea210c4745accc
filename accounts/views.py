"""Signing in and looking after staff: two-step sign-in, the keep-alive, the staff page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import mfa, staff
from accounts.forms import CodeForm, SetupCodeForm, StaffPasswordForm
from accounts.middleware import mfa_exempt
from clinic.mfa import mfa_required


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse(settings.LOGIN_REDIRECT_URL)


# --- Two-step sign-in ----------------------------------------------------------------------


@login_required
def mfa_overview(request):
    """The user's own two-step sign-in: set up or not, recovery codes left, what they can do."""
    return render(
        request,
        "accounts/mfa_overview.html",
        {
            "device": mfa.app_device_for(request.user),
            "codes_left": mfa.recovery_codes_left(request.user),
            "required": mfa_required(request.user),
        },
    )


@mfa_exempt
@login_required
def mfa_setup(request):
    """Scan or type the secret into an authenticator app, then type back a code to confirm it.

    A user who already has an app must pass the second step before replacing it (the middleware
    sends them to the code page first).
    """
    if mfa.app_device_for(request.user) and not request.user.is_verified():
        return redirect(f"{reverse('accounts:mfa_verify')}?next={reverse('accounts:mfa_setup')}")
    key = mfa.pending_secret(request.session)
    form = SetupCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = mfa.mfa_setup_confirm(request=request, key=key, code=form.cleaned_data["code"])
        except mfa.CodeRejected as error:
            form.add_error("code", str(error))
        else:
            return render(
                request, "accounts/recovery_codes.html", {"codes": codes, "next": _next_url(request), "new_app": True}
            )
    return render(
        request,
        "accounts/mfa_setup.html",
        {"form": form, "next": request.GET.get("next", ""), **mfa.setup_details(user=request.user, key=key)},
    )


@mfa_exempt
@login_required
def mfa_verify(request):
    """The second step of signing in: a code from the app, or a recovery code."""
    if request.user.is_verified():
        return redirect(_next_url(request))
    if not mfa.app_device_for(request.user) and not mfa.recovery_codes_left(request.user):
        return redirect("accounts:mfa_setup")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            mfa.mfa_verify(request=request, code=form.cleaned_data["code"])
        except mfa.CodeRejected as error:
            form.add_error("code", str(error))
        else:
            left = mfa.recovery_codes_left(request.user)
            if left <= 3:
                messages.warning(
                    request,
                    f"{left} recovery code{'s' if left != 1 else ''} left. Make new ones on the Two-step sign-in page.",
                )
            return redirect(_next_url(request))
    return render(request, "accounts/mfa_verify.html", {"form": form, "next": request.GET.get("next", "")})


@require_POST
@login_required
def recovery_codes_new(request):
    """Ten new recovery codes, shown once; the old ones stop working."""
    if not mfa.app_device_for(request.user):
        messages.error(request, "Set up an authenticator app first; recovery codes come with it.")
        return redirect("accounts:mfa")
    codes = mfa.recovery_codes_replace(user=request.user)
    return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": reverse("accounts:mfa")})


# --- The session ---------------------------------------------------------------------------


@require_POST
@login_required
def keep_alive(request):
    """ "Stay signed in": the request itself counts as activity (accounts.middleware)."""
    return HttpResponse(status=204)


# --- The staff page ------------------------------------------------------------------------


@login_required
@permission_required("clinic.manage_staff", raise_exception=True)
def staff_list(request):
    return render(request, "accounts/staff_list.html", {"rows": staff.staff_rows(request.user)})


@login_required
@permission_required("clinic.manage_staff", raise_exception=True)
def staff_password(request, user_id: int):
    """Set a new password for a member of staff; Django's password rules apply."""
    member = staff.get_staff_member_for_manager(request.user, user_id)
    form = StaffPasswordForm(member, request.POST or None)
    if request.method == "POST" and form.is_valid():
        staff.staff_password_set(user=member, password=form.cleaned_data["new_password1"])
        messages.success(
            request, f"New password set for {_name(member)}. Tell them in person; they can change it under Password."
        )
        return redirect("accounts:staff")
    return render(request, "accounts/staff_password.html", {"member": member, "form": form})


@require_POST
@login_required
@permission_required("clinic.manage_staff", raise_exception=True)
def staff_active(request, user_id: int):
    """Deactivate or reactivate a member of staff (the button says which)."""
    member = staff.get_staff_member_for_manager(request.user, user_id)
    active = request.POST.get("active") == "1"
    try:
        staff.staff_active_set(user=member, active=active, by=request.user)
    except staff.StaffActionRefused as error:
        messages.error(request, str(error))
    else:
        if active:
            messages.success(request, f"{_name(member)} can sign in again.")
        else:
            messages.success(request, f"{_name(member)} is deactivated and signed out everywhere.")
    return redirect("accounts:staff")


@require_POST
@login_required
@permission_required("clinic.manage_staff", raise_exception=True)
def staff_unlock(request, user_id: int):
    member = staff.get_staff_member_for_manager(request.user, user_id)
    staff.staff_unlock(user=member)
    messages.success(request, f"{_name(member)} is unlocked and can try their password again.")
    return redirect("accounts:staff")


@require_POST
@login_required
@permission_required("clinic.manage_staff", raise_exception=True)
def staff_two_step_reset(request, user_id: int):
    member = staff.get_staff_member_for_manager(request.user, user_id)
    staff.staff_two_step_reset(user=member)
    messages.success(
        request, f"{_name(member)}'s authenticator app is removed. They set up a new one when they next sign in."
    )
    return redirect("accounts:staff")


def _name(user) -> str:
    return user.get_full_name() or user.username
