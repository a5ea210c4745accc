"""The authentication backend that refuses a locked-out login before the password is checked."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' check, for logins that come with a request.

    Every login over HTTP (the login page, the admin) passes its request. Code that checks a
    password without one (a management command, the test client's `login()`) has no address to
    count failures against, so it is neither counted nor refused here; the next backend checks
    the password as usual.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
