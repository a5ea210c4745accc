"""The nurses' daily roster (`scheduling:roster`): chairs by hours, visits and their status."""

from django.contrib.auth.decorators import permission_required
from django.shortcuts import render


@permission_required("scheduling.view_appointment", raise_exception=True)
def roster(request):
    return render(request, "scheduling/roster.html", {})
