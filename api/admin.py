"""No admin pages for OAuth applications and tokens: clients are made and revoked with `manage.py api_client`.

django-oauth-toolkit registers its models with the admin; a token or a client's settings
shown or changed there would bypass the clinic scope the command sets.
"""

from django.contrib import admin
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

for model in (
    get_application_model(),
    get_access_token_model(),
    get_refresh_token_model(),
    get_grant_model(),
    get_id_token_model(),
):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
