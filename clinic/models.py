"""The clinic as configured (sites, chairs, hours, staffing) and its formulary (drugs, regimens).

A regimen is data: every number a label gives lives in these rows, seeded by a data
migration and editable in the admin by the organisation's formulary managers (clinic managers
read it). The dosing rules in
`clinic.dosing` read a regimen through `Regimen.spec()` and never touch the database.
"""

from __future__ import annotations

import zoneinfo
from functools import cached_property

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django_countries.fields import CountryField


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            "%(value)s is not a time zone name. Use an IANA name such as Europe/London or America/New_York.",
            params={"value": value},
        )


validate_offsets = RegexValidator(
    r"^\d{1,3}(,\d{1,3})*$",
    "Write the days before the appointment as whole numbers separated by commas, e.g. 7,1.",
)


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


def installation_language() -> str:
    """The language a clinic's patients get unless told otherwise: the installation's LANGUAGE_CODE
    ("en-gb" read as "en") when messages can be written in it, else English."""
    codes = [code for code, _name in settings.LANGUAGES]
    base = settings.LANGUAGE_CODE.split("-")[0]
    return settings.LANGUAGE_CODE if settings.LANGUAGE_CODE in codes else base if base in codes else "en"


class Clinic(models.Model):
    name = models.CharField(max_length=120, unique=True)
    time_zone = models.CharField(
        max_length=64, validators=[validate_time_zone], help_text="IANA name, e.g. Europe/London."
    )
    country = CountryField(
        blank=True,
        help_text=(
            "Where the clinic is: programme names are shown as its patients know them there, and the roster "
            "prints on that country's paper. Empty: taken from the time zone."
        ),
    )
    address = models.TextField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True, help_text="Shown to patients in reminder emails.")
    slot_minutes = models.PositiveSmallIntegerField(
        default=15,
        validators=[MinValueValidator(5)],
        help_text="Grid of bookable start times, in minutes.",
    )
    patients_per_nurse = models.PositiveSmallIntegerField(
        default=4,
        validators=[MinValueValidator(1)],
        help_text="Patients in chairs at the same moment that one nurse on duty may look after.",
    )
    starts_per_nurse = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text="Infusion starts per nurse on duty in any 15-minute slot (the staggered start).",
    )
    reminder_days_before = models.CharField(
        max_length=40,
        default="7,1",
        validators=[validate_offsets],
        help_text="Days before an appointment on which the patient is reminded, e.g. 7,1.",
    )
    reminder_local_time = models.TimeField(default="09:00", help_text="Local time of day at which reminders are sent.")
    due_soon_days = models.PositiveSmallIntegerField(
        default=21, help_text="Remind a patient to book when the next dose is due within this many days."
    )
    language = models.CharField(
        "patients' language",
        max_length=10,
        choices=settings.LANGUAGES,
        default=installation_language,
        help_text="The language a new patient's messages are in; each patient's own can be changed on their form.",
    )
    active = models.BooleanField(default=True)
    # Two-step sign-in (an authenticator app's code after the password). On for managers by
    # default: they hold the admin and the staff page, so a guessed password must not be enough.
    require_mfa_for_managers = models.BooleanField(
        "require two-step sign-in for managers",
        default=True,
        help_text="Managers of this clinic must sign in with a code from an authenticator app as well as their password.",
    )
    require_mfa_for_everyone = models.BooleanField(
        "require two-step sign-in for all staff",
        default=False,
        help_text="Everyone working at this clinic (front desk and nurses too) must sign in with an authenticator code.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.country and self.time_zone:
            from clinic.inputs import country_for_time_zone

            self.country = country_for_time_zone(self.time_zone)
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "country"}
        super().save(*args, **kwargs)

    @cached_property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def reminder_offsets(self) -> list[int]:
        return sorted({int(part) for part in self.reminder_days_before.split(",") if part}, reverse=True)


class Chair(models.Model):
    class Kind(models.TextChoices):
        CHAIR = "chair", "Chair"
        BED = "bed", "Bed"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="chairs")
    name = models.CharField(max_length=40)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CHAIR)
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order on the roster.")

    class Meta:
        ordering = ["clinic", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "name"], name="chair_name_unique_in_clinic"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.clinic})"


class OpeningHours(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["clinic", "weekday"]
        verbose_name_plural = "opening hours"
        constraints = [
            models.UniqueConstraint(fields=["clinic", "weekday"], name="one_opening_per_weekday"),
            models.CheckConstraint(condition=Q(closes__gt=F("opens")), name="opening_closes_after_opens"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"

    def clean(self) -> None:
        if self.opens and self.closes and self.closes <= self.opens:
            raise ValidationError({"closes": "Closing time must be after opening time. Check the two times."})


class Closure(models.Model):
    """Days the clinic is shut (holidays, training days), first and last day inclusive."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="closures")
    starts_on = models.DateField()
    ends_on = models.DateField()
    reason = models.CharField(max_length=120)

    class Meta:
        ordering = ["clinic", "starts_on"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="closure_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.reason}: {self.starts_on}–{self.ends_on}"

    def clean(self) -> None:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": "The last day cannot be before the first day."})


class NurseStaffing(models.Model):
    """Nurses on duty on a weekday; the nurse rules multiply by this number."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="staffing")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    nurses = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["clinic", "weekday"]
        verbose_name_plural = "nurse staffing"
        constraints = [
            models.UniqueConstraint(fields=["clinic", "weekday"], name="one_staffing_per_weekday"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()}: {self.nurses} nurses"


class StaffProfile(models.Model):
    """Which clinics a member of staff works at. Their role is their Django group."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile")
    clinics = models.ManyToManyField(Clinic, related_name="staff", blank=True)

    class Meta:
        permissions = [("manage_staff", "Can set passwords of, deactivate and unlock the staff of their clinics")]

    def __str__(self) -> str:
        return str(self.user)


# --- The formulary -------------------------------------------------------------------------


class Drug(models.Model):
    code = models.SlugField(unique=True, help_text="Lower-case name, e.g. ocrevus.")
    brand_name = models.CharField(max_length=80)
    generic_name = models.CharField(max_length=120)
    route = models.CharField(max_length=40, help_text="IV, or SC for a subcutaneous injection.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["brand_name"]

    def __str__(self) -> str:
        return self.brand_name


class IntervalUnit(models.TextChoices):
    DAYS = "days", "days"
    WEEKS = "weeks", "weeks"
    MONTHS = "months", "calendar months"


class Anchor(models.TextChoices):
    FIRST_DOSE = "first_dose", "dose 1 of the course"
    PREVIOUS_DOSE = "previous_dose", "the previous dose (the last dose of the previous phase)"


class Regimen(models.Model):
    """A drug's dosing schedule: ordered phases, monitoring, and the programme it needs."""

    code = models.SlugField(unique=True, help_text="Lower-case name used by commands, e.g. ocrevus-zunovo.")
    drug = models.ForeignKey(Drug, on_delete=models.PROTECT, related_name="regimens")
    name = models.CharField(max_length=120)
    active = models.BooleanField(default=True, help_text="Only active regimens can start new courses.")
    programme = models.CharField(
        max_length=120, blank=True, help_text="Restricted-distribution programme, e.g. TOUCH (REMS)."
    )
    requires_authorization = models.BooleanField(
        default=False, help_text="Each infusion needs a current programme authorization."
    )
    reauthorization_months = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Programme reauthorization every N months from dose 1."
    )
    pregnancy_check = models.BooleanField(default=False, help_text="Check pregnancy status before each dose.")
    late_window_days = models.PositiveSmallIntegerField(
        default=7,
        help_text="Days after the target date that still count as on time; later is overdue.",
    )
    therapy_class = models.CharField(
        max_length=80,
        blank=True,
        help_text=(
            "Regimens of one therapy class are not given together, e.g. MS disease-modifying therapy: a patient "
            "has one active course of the class at a time, a second only with a clinic manager's override and "
            "a reason. Empty: the regimen combines with any course."
        ),
    )
    washout_days_after = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text=(
            "Days after a course on this regimen stops before a course of another regimen of its therapy class "
            "may start (a switch). Empty: none recorded, so the new course may start the day this one stops."
        ),
    )
    notes = models.TextField(blank=True)
    sources = models.TextField(blank=True, help_text="Where the numbers come from (label, version).")

    class Meta:
        ordering = ["drug__brand_name", "name"]

    def __str__(self) -> str:
        return self.name

    def programme_for(self, country) -> str:
        """The programme's name as patients in `country` know it (an ISO code or a Country).

        Reads `programme_names` (prefetch it for a list); a country without its own name gets the
        regimen's `programme`.
        """
        code = getattr(country, "code", country) or ""
        for local in self.programme_names.all():
            if local.country.code == code:
                return local.name
        return self.programme

    def spec(self):
        """This regimen as plain data for the dosing rules (reads phases and monitoring once)."""
        from clinic.dosing import RegimenSpec

        return RegimenSpec.from_model(self)

    def option_choices(self) -> list[tuple[str, str]]:
        """The course options this regimen offers, as (key, label) pairs."""
        choices: dict[str, str] = {}
        for phase in self.phases.all():
            if phase.alternative_interval_option:
                choices[phase.alternative_interval_option] = (
                    f"{phase.name.capitalize()} every {phase.alternative_interval_value} "
                    f"{phase.get_alternative_interval_unit_display()}"
                )
            if phase.short_infusion_option:
                choices[phase.short_infusion_option] = (
                    f"Shorter {phase.short_infusion_minutes}-minute infusion for {phase.name} doses "
                    "(not after a serious infusion reaction)"
                )
        return list(choices.items())


class ReactionTrigger(models.TextChoices):
    """Which earlier infusion reaction brings the full observation back (RegimenPhase.reaction_keeps_observation)."""

    ANY = "any", "any infusion reaction or hypersensitivity"
    HYPERSENSITIVITY = "hypersensitivity", "a hypersensitivity reaction"
    SERIOUS = "serious", "a serious infusion reaction"


class RegimenPhase(models.Model):
    """One phase of a regimen: a block of doses, given once or repeated.

    The course's first dose falls on the course start date. Every later phase starts
    `interval` after its anchor; inside a block doses are `spacing_days` apart; a
    repeating phase's next block is `interval` after the previous dose actually given
    (so a late dose moves the ones after it, as the labels' missed-dose rules ask).
    """

    regimen = models.ForeignKey(Regimen, on_delete=models.CASCADE, related_name="phases")
    position = models.PositiveSmallIntegerField(help_text="Order of the phase in the regimen, from 1.")
    name = models.CharField(max_length=40, help_text="e.g. initial, maintenance, course 2.")
    dose_label = models.CharField(max_length=80, help_text="e.g. 300 mg IV.")
    doses = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1)], help_text="Doses in one block (Lemtrada course 1: 5)."
    )
    spacing_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Days between doses inside a block (14; 1 for consecutive days)."
    )
    repeats = models.BooleanField(default=False, help_text="The block repeats for as long as the course runs.")
    when_needed = models.BooleanField(
        default=False,
        help_text=(
            "Given only when the prescriber asks for it (Lemtrada's further courses): the phase has an "
            "earliest date but is never counted due or overdue."
        ),
    )
    interval_value = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Time from the anchor to this phase's first block, and between repeated blocks.",
    )
    interval_unit = models.CharField(max_length=10, choices=IntervalUnit.choices, default=IntervalUnit.DAYS)
    interval_anchor = models.CharField(
        max_length=20,
        choices=Anchor.choices,
        default=Anchor.PREVIOUS_DOSE,
        help_text="What this phase's first block counts from. Repeats always count from the previous dose.",
    )
    alternative_interval_option = models.SlugField(
        blank=True, help_text="Course option that switches to the alternative interval, e.g. extended_interval."
    )
    alternative_interval_value = models.PositiveSmallIntegerField(null=True, blank=True)
    alternative_interval_unit = models.CharField(max_length=10, choices=IntervalUnit.choices, default=IntervalUnit.DAYS)
    min_gap_value = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="No dose of this phase sooner than this after the previous dose."
    )
    min_gap_unit = models.CharField(max_length=10, choices=IntervalUnit.choices, default=IntervalUnit.DAYS)
    premed_minutes = models.PositiveSmallIntegerField(default=0)
    premed_doses = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Premedication only on the first N doses of each block (Lemtrada: 3)."
    )
    infusion_minutes = models.PositiveSmallIntegerField()
    first_infusion_minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Infusion minutes of the phase's first dose, when longer."
    )
    short_infusion_option = models.SlugField(
        blank=True, help_text="Course option that allows the shorter infusion, e.g. short_infusion."
    )
    short_infusion_minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Only when the course allows it and no earlier dose had a serious reaction."
    )
    observation_minutes = models.PositiveSmallIntegerField(default=0)
    observation_infusions = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Observation as above only for the course's first N infusions (Tysabri: 12).",
    )
    later_observation_minutes = models.PositiveSmallIntegerField(
        default=0, help_text="Observation after those first N infusions."
    )
    reaction_keeps_observation = models.BooleanField(
        default=False, help_text="After an infusion reaction, later infusions keep the full observation."
    )
    observation_kept_after = models.CharField(
        max_length=20,
        choices=ReactionTrigger.choices,
        default=ReactionTrigger.SERIOUS,
        help_text=(
            "Which earlier reaction keeps the full observation, when the box above is ticked (Tysabri: a "
            "hypersensitivity reaction; Briumvi: any infusion reaction)."
        ),
    )
    source = models.TextField(blank=True, help_text="Where these numbers come from.")

    class Meta:
        ordering = ["regimen", "position"]
        constraints = [
            models.UniqueConstraint(fields=["regimen", "position"], name="phase_position_unique"),
            # A dose of no minutes cannot be placed in a chair; the booking pages would have nothing to book.
            models.CheckConstraint(
                condition=Q(infusion_minutes__gt=0),
                name="phase_infusion_minutes_positive",
                violation_error_message="Give the infusion minutes, more than 0: a dose with no infusion time "
                "cannot be booked.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.regimen}: {self.name}"

    def clean(self) -> None:
        errors = {}
        if self.doses and self.doses > 1 and not self.spacing_days:
            errors["spacing_days"] = "A block of several doses needs the days between them."
        if self.repeats and not self.interval_value:
            errors["interval_value"] = "A repeating phase needs the interval between its blocks."
        if self.position and self.position > 1 and not self.interval_value:
            errors["interval_value"] = "A later phase needs the time from its anchor to its first dose."
        if self.alternative_interval_option and not self.alternative_interval_value:
            errors["alternative_interval_value"] = "Give the alternative interval for the option."
        if self.short_infusion_option and not self.short_infusion_minutes:
            errors["short_infusion_minutes"] = "Give the minutes of the shorter infusion."
        errors.update(self._chair_time_errors())
        if errors:
            raise ValidationError(errors)

    def _chair_time_errors(self) -> dict[str, str]:
        """Every dose of the phase needs chair time: a dose of 0 minutes cannot be booked into a chair."""
        errors = {}
        if self.infusion_minutes is not None and self.infusion_minutes <= 0:
            if not (self.premed_minutes or self.observation_minutes):
                errors["infusion_minutes"] = (
                    "This phase gives its doses no chair time: premedication, infusion and observation are all "
                    "0 minutes. Give the infusion minutes (more than 0) so its doses can be booked."
                )
            else:
                errors["infusion_minutes"] = (
                    "Give the infusion minutes, more than 0: a dose with no infusion time cannot be booked."
                )
        if self.first_infusion_minutes == 0:
            errors["first_infusion_minutes"] = (
                "Leave this empty when the first infusion is not longer; 0 minutes cannot be booked."
            )
        if self.short_infusion_minutes == 0:
            errors["short_infusion_minutes"] = (
                "Give the minutes of the shorter infusion (more than 0), or leave it empty."
            )
        return errors


class MonitoringRule(models.Model):
    """Checks a course needs between doses (labs, programme reauthorization)."""

    class Kind(models.TextChoices):
        LABS = "labs", "Labs"
        REAUTHORIZATION = "reauthorization", "Programme reauthorization"

    regimen = models.ForeignKey(Regimen, on_delete=models.CASCADE, related_name="monitoring")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(max_length=120, help_text="e.g. CBC with differential, creatinine, urinalysis.")
    every_months = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    until_months_after_last_dose = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Stop this many months after the last dose given (Lemtrada: 48)."
    )
    source = models.TextField(blank=True)

    class Meta:
        ordering = ["regimen", "kind", "name"]

    def __str__(self) -> str:
        return f"{self.regimen}: {self.name} every {self.every_months} months"


class ProgrammeName(models.Model):
    """A regimen's programme as it is called in one country (the regimen's `programme` elsewhere).

    The US names (TOUCH, the REMS) mean nothing to a UK patient or nurse, whose paperwork goes by
    the product's risk-minimisation materials instead.
    """

    regimen = models.ForeignKey(Regimen, on_delete=models.CASCADE, related_name="programme_names")
    country = CountryField()
    name = models.CharField(max_length=120)
    source = models.TextField(blank=True, help_text="Where the name comes from, or that it is still to be confirmed.")

    class Meta:
        ordering = ["regimen", "country"]
        constraints = [
            models.UniqueConstraint(fields=["regimen", "country"], name="programme_name_once_per_country"),
        ]

    def __str__(self) -> str:
        return f"{self.regimen}: {self.name} ({self.country.code})"


class RegimenCheck(models.Model):
    """One item of a regimen's checklist before the needle: ticked on the roster before the infusion starts.

    Data like the phases: seeded from the label facts (migration 0009), edited by the formulary
    managers. An item of kind "authorization" is ticked like the others and also needs the
    course's programme authorization to be current on the visit's day, unless a clinic manager
    overrides an expired one with a reason.
    """

    class When(models.TextChoices):
        EVERY_DOSE = "every_dose", "before every dose"
        FIRST_DOSE = "first_dose", "before dose 1 of the course"
        BLOCK_FIRST_DOSE = "block_first_dose", "before the first dose of each block (day 1 of a Lemtrada course)"

    class Kind(models.TextChoices):
        TICK = "tick", "ticked by the nurse"
        AUTHORIZATION = "authorization", "programme authorization: ticked, and current on the course"

    regimen = models.ForeignKey(Regimen, on_delete=models.CASCADE, related_name="checks")
    position = models.PositiveSmallIntegerField(help_text="Order on the roster card, from 1.")
    label = models.CharField(
        max_length=120,
        help_text="What the nurse ticks, as it reads in a sentence: e.g. infection check, TOUCH authorization.",
    )
    when = models.CharField(max_length=20, choices=When.choices, default=When.EVERY_DOSE)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.TICK)
    active = models.BooleanField(
        default=True, help_text="Only active items are asked for. Retire an item here instead of deleting it."
    )
    verified = models.BooleanField(
        default=False,
        help_text="Confirmed against the label or the programme's own pages. Unverified items are clinic practice "
        "to confirm before go-live.",
    )
    source = models.TextField(blank=True, help_text="Where the item comes from (label, programme, version).")

    class Meta:
        ordering = ["regimen", "position"]
        verbose_name = "pre-infusion check"
        constraints = [
            models.UniqueConstraint(fields=["regimen", "position"], name="regimen_check_position_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.regimen}: {self.label}"

    def applies_to(self, *, dose_number: int, first_of_block: bool) -> bool:
        """Whether the course's `dose_number`-th dose asks for this item (`first_of_block`: day 1 of its block)."""
        if not self.active:
            return False
        if self.when == self.When.FIRST_DOSE:
            return dose_number == 1
        if self.when == self.When.BLOCK_FIRST_DOSE:
            return first_of_block
        return True


class RateStep(models.Model):
    """One step of a phase's infusion rate schedule: from `after_minutes` into the infusion, run at `rate`.

    A phase has up to three schedules (`applies_to`): its first dose when that is a longer infusion
    (Briumvi infusion 1), the shorter infusion when a course allows it (Ocrevus 2 h), and the
    standard one for every other dose. Steps the label facts could not confirm are seeded with
    `verified` off and shown as unverified on the roster.
    """

    class AppliesTo(models.TextChoices):
        STANDARD = "standard", "standard infusion"
        FIRST = "first", "the phase's first, longer infusion"
        SHORT = "short", "the shorter infusion"

    phase = models.ForeignKey(RegimenPhase, on_delete=models.CASCADE, related_name="rate_steps")
    applies_to = models.CharField(max_length=10, choices=AppliesTo.choices, default=AppliesTo.STANDARD)
    after_minutes = models.PositiveSmallIntegerField(help_text="Minutes after the infusion starts.")
    rate = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    unit = models.CharField(max_length=10, default="mL/h", help_text="mL/h, or mg/h where the label gives mg.")
    verified = models.BooleanField(default=True, help_text="Confirmed against the label; off for a placeholder.")
    source = models.TextField(blank=True)

    class Meta:
        ordering = ["phase", "applies_to", "after_minutes"]
        constraints = [
            models.UniqueConstraint(fields=["phase", "applies_to", "after_minutes"], name="rate_step_unique_time"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="rate_step_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.phase}: {self.rate} {self.unit} from {self.after_minutes} min ({self.get_applies_to_display()})"


class RegimenChangeQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(applied_at__isnull=True)

    def due(self, today):
        """Pending changes whose effective date has come."""
        return self.pending().filter(effective_from__lte=today)


class RegimenChange(models.Model):
    """An edit to a shared regimen and its phases, reviewed and taking effect from a chosen date.

    `changes` holds the values old and new, as JSON: `{"regimen": {field: [old, new]},
    "phases": {"<phase id>": {field: [old, new]}}}`. Until `effective_from` the regimen keeps
    its old values; on that date (the organisation's calendar, settings.TIME_ZONE) the
    `clinic.regimen_changes` service writes the new ones and records `applied_at`.
    `preview` keeps the sentences the formulary manager confirmed (counts only, no patient).
    """

    regimen = models.ForeignKey(Regimen, on_delete=models.PROTECT, related_name="changes")
    changes = models.JSONField()
    effective_from = models.DateField(help_text="The day from which the new values hold.")
    reason = models.TextField(help_text="Why the regimen changes, e.g. the label version.")
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    proposed_at = models.DateTimeField(auto_now_add=True)
    preview = models.JSONField(default=list, blank=True, help_text="What the change does, as confirmed.")
    applied_at = models.DateTimeField(null=True, blank=True)
    unfit_visits = models.JSONField(
        default=list,
        blank=True,
        help_text="Booked visits (ids) outside their dosing window once applied, noted for the front desk.",
    )

    objects = RegimenChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-effective_from", "-pk"]
        indexes = [
            models.Index(fields=["effective_from"], condition=Q(applied_at__isnull=True), name="regimenchange_pending"),
        ]

    def __str__(self) -> str:
        state = "applied" if self.applied_at else "pending"
        return f"{self.regimen}: change from {self.effective_from.day} {self.effective_from:%b %Y} ({state})"


class ClinicRegimenSetting(models.Model):
    """One clinic's own chair time for a regimen phase: premedication and observation minutes.

    The shared regimen keeps the label's numbers; a clinic that premedicates earlier or observes
    longer sets its minutes here, and only its own courses and bookings use them. Empty: the
    regimen's value.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="regimen_settings")
    phase = models.ForeignKey(RegimenPhase, on_delete=models.CASCADE, related_name="clinic_settings")
    premed_minutes = models.PositiveSmallIntegerField(
        "premedication minutes", null=True, blank=True, help_text="Empty: the regimen's premedication minutes."
    )
    observation_minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Empty: the regimen's observation minutes."
    )

    class Meta:
        ordering = ["clinic", "phase__regimen__name", "phase__position"]
        verbose_name = "clinic chair-time setting"
        constraints = [
            models.UniqueConstraint(fields=["clinic", "phase"], name="one_setting_per_clinic_phase"),
            models.CheckConstraint(
                condition=Q(premed_minutes__isnull=False) | Q(observation_minutes__isnull=False),
                name="clinic_setting_sets_something",
                violation_error_message="Give the premedication minutes, the observation minutes, or both.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.clinic}: {self.phase}"
