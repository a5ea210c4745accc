from clinic.roles import FRONT_DESK, MANAGER, NURSE, role_of


def roles(request):
    role = role_of(request.user) if hasattr(request, "user") else None
    return {
        "user_role": role,
        "is_front_desk": role == FRONT_DESK,
        "is_nurse": role == NURSE,
        "is_manager": role == MANAGER,
    }
