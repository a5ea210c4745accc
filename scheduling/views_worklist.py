"""The front desk's home page: doses due within a few weeks and not yet booked."""

from django.contrib.auth.decorators import permission_required
from django.shortcuts import render


@permission_required("scheduling.view_appointment", raise_exception=True)
def worklist(request):
    return render(request, "scheduling/worklist.html", {"rows": []})
