"""/fhir/: the token endpoint and the FHIR API, none of it behind the staff's login (a bearer token instead)."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path, re_path
from oauth2_provider.views import TokenView

from api.views import api, method_not_allowed, unknown

app_name = "fhir"

_patterns, _app_name, _namespace = api.urls
for _pattern in _patterns:
    # The API signs its clients in with their bearer token (api.auth); Django's login and the
    # staff's two-step sign-in stay out of it (method_not_allowed marks its views so).
    _pattern.callback = method_not_allowed(_pattern.callback)

urlpatterns = [
    # OAuth2 client credentials: POST grant_type=client_credentials with the client's id and secret.
    path("oauth/token/", login_not_required(TokenView.as_view()), name="token"),
    *_patterns,
    # Anything else under /fhir/ (a resource type Chairside does not serve): a FHIR 404, not a web page.
    re_path(r"^(?P<path>.+)$", login_not_required(unknown), name="unknown"),
]
