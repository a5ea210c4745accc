from django.shortcuts import render

from clinic.access import clinics_for_user
from clinic.roles import role_of


def home(request):
    """Each role's home page: the front desk's worklist, the nurses' roster, the manager's overview."""
    return render(
        request,
        "clinic/home.html",
        {"role": role_of(request.user), "clinics": clinics_for_user(request.user)},
    )
