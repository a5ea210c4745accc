"""The roles as Django groups, and the permissions each one's work needs.

Three roles work at a clinic (front desk, nurse, clinic manager). One works for the whole
organisation: the formulary manager, who alone edits the drugs and regimens every clinic doses
from. A clinic manager reads the formulary but cannot change it, so one clinic cannot move
another clinic's dosing. Nobody is given the formulary role from Chairside's pages: a superuser
adds the user to its group in the admin.

Groups are kept in step with this table after every `migrate` (see `ClinicConfig.ready`),
so a new permission reaches the roles without a hand edit in the admin.
"""

from __future__ import annotations

FRONT_DESK = "Front desk"
NURSE = "Nurse"
MANAGER = "Clinic manager"
FORMULARY = "Formulary manager"
# The roles of a clinic's staff; the formulary manager works for no clinic in particular.
ROLES = (FRONT_DESK, NURSE, MANAGER)

# The shared formulary: drugs, regimens and the phases, monitoring, rate steps and pre-infusion checks a
# regimen owns.
_FORMULARY_MODELS = ("drug", "regimen", "regimenphase", "monitoringrule", "regimencheck", "ratestep")

_READ_CLINIC = [
    "clinic.view_clinic",
    "clinic.view_chair",
    "clinic.view_drug",
    "clinic.view_regimen",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    FRONT_DESK: _READ_CLINIC
    + [
        "patients.view_patient",
        "patients.add_patient",
        "patients.change_patient",
        "patients.view_treatmentcourse",
        "patients.add_treatmentcourse",
        "patients.change_treatmentcourse",
        "scheduling.view_appointment",
        "scheduling.add_appointment",
        "scheduling.change_appointment",
        "scheduling.mark_arrival",
        "scheduling.view_reminder",
    ],
    NURSE: _READ_CLINIC
    + [
        "patients.view_patient",
        "patients.view_treatmentcourse",
        "scheduling.view_appointment",
        "scheduling.change_appointment_status",
        "scheduling.mark_arrival",
        "scheduling.view_nurseassignment",
    ],
    MANAGER: _READ_CLINIC
    + [
        "patients.view_patient",
        "patients.add_patient",
        "patients.change_patient",
        "patients.view_treatmentcourse",
        "patients.add_treatmentcourse",
        "patients.change_treatmentcourse",
        "scheduling.view_appointment",
        "scheduling.add_appointment",
        "scheduling.change_appointment",
        "scheduling.change_appointment_status",
        "scheduling.mark_arrival",
        "scheduling.override_earliest_date",
        # An infusion on an expired programme authorization (TOUCH, REMS), with a written reason.
        "scheduling.override_expired_authorization",
        # A grade 4 or 5 infusion reaction holds the course until its review is recorded here.
        "scheduling.clear_reaction_review",
        # A second course of one therapy class beside the first (two MS disease-modifying
        # therapies at once), with a written reason kept on the course.
        "patients.override_course_exclusion",
        "scheduling.view_nurseassignment",
        "scheduling.add_nurseassignment",
        "scheduling.change_nurseassignment",
        "scheduling.view_reminder",
        "scheduling.change_reminder",
        "scheduling.view_capacitypolicy",
        "scheduling.add_capacitypolicy",
        "scheduling.change_capacitypolicy",
        # The staff page: set a colleague's password, deactivate them, lift a lockout.
        "clinic.manage_staff",
    ]
    + [
        f"clinic.{action}_{model}"
        for model in ("clinic", "chair", "openinghours", "closure", "nursestaffing")
        for action in ("add", "change", "view")
    ]
    # The formulary read-only (a regimen's phases, monitoring, checks and rate steps), and the changes to come.
    + [
        "clinic.view_regimenphase",
        "clinic.view_monitoringrule",
        "clinic.view_regimencheck",
        "clinic.view_ratestep",
        "clinic.view_regimenchange",
    ]
    # The clinic's own chair time for a regimen phase, which no other clinic doses by.
    + [f"clinic.{action}_clinicregimensetting" for action in ("add", "change", "view", "delete")],
    # Nothing of a clinic: the formulary manager opens the admin for the formulary alone.
    # Drugs and regimens are never deleted (courses and their history refer to them): they are
    # made inactive instead.
    # A regimen change is proposed through the regimen's own change form (clinic.regimen_changes), so
    # the changes themselves are read only.
    FORMULARY: [f"clinic.{action}_{model}" for model in _FORMULARY_MODELS for action in ("add", "change", "view")]
    + ["clinic.view_regimenchange"],
}


def sync_roles(using: str = "default", **kwargs) -> None:
    """Create the role groups and give each exactly the permissions in ROLE_PERMISSIONS."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    # post_migrate reaches the clinic app before patients and scheduling, whose permissions
    # a fresh database does not hold yet: create every app's permissions first.
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    missing = []
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            found = list(Permission.objects.using(using).filter(content_type__app_label=app_label, codename=codename))
            if not found:
                missing.append(perm)
            wanted.extend(found)
        group.permissions.set(wanted)
    if missing:
        raise LookupError(f"ROLE_PERMISSIONS names permissions that do not exist: {', '.join(sorted(set(missing)))}")


def role_of(user) -> str | None:
    """The user's role at their clinics, or None for a user in none of those groups (a formulary manager alone)."""
    if not user.is_authenticated:
        return None
    names = {group.name for group in user.groups.all()}
    for role in (MANAGER, NURSE, FRONT_DESK):
        if role in names:
            return role
    return None
