"""The regimens Chairside ships, as data for the seed migration.

Every number comes from the label facts in Chairside's domain notes
(`domain/ms-infusion-regimens.md`), with its source kept beside it in the regimen's
`sources` and each phase's `source`. Where the labels disagree (Ocrevus "6 months / at
least 5 months" against a newer "24 weeks / at least 20 weeks"), the older, confirmed label
value is seeded and the alternative noted: a clinic manager changes the rows in the admin,
no release needed. Premedication minutes are the chair time before the infusion starts.

This module is read by the seed migrations only (0003 the regimens, 0007 which of them exclude
each other, 0008 the checks before the needle); the live rows are the record once seeded.
"""

OCREVUS_SOURCE = (
    "US PI Highlights (DailyMed setid 9da42362-3bb5-4b83-b4bb-b59fd4e55f0d, Jan 2024 version); "
    "ocrevus-hcp.com dosing/administration; drugs.com ocrelizumab dosage. Label revision 5/2026 "
    "(D&A 2.2, 2.3, 2.6) not yet read: verify against the current DailyMed label before go-live."
)

DRUGS = [
    {"code": "ocrevus", "brand_name": "Ocrevus", "generic_name": "ocrelizumab", "route": "IV"},
    {
        "code": "ocrevus-zunovo",
        "brand_name": "Ocrevus Zunovo",
        "generic_name": "ocrelizumab and hyaluronidase-ocsq",
        "route": "SC",
    },
    {"code": "tysabri", "brand_name": "Tysabri", "generic_name": "natalizumab", "route": "IV"},
    {"code": "tyruko", "brand_name": "Tyruko", "generic_name": "natalizumab-sztn", "route": "IV"},
    {"code": "lemtrada", "brand_name": "Lemtrada", "generic_name": "alemtuzumab", "route": "IV"},
    {"code": "briumvi", "brand_name": "Briumvi", "generic_name": "ublituximab-xiiy", "route": "IV"},
    {"code": "rituximab", "brand_name": "Rituximab", "generic_name": "rituximab (and biosimilars)", "route": "IV"},
]

REGIMENS = [
    {
        "code": "ocrevus",
        "drug": "ocrevus",
        "name": "Ocrevus (ocrelizumab IV)",
        "sources": OCREVUS_SOURCE,
        "notes": (
            "Maintenance counts from infusion 1 of the initial dose. A missed dose is given as soon as "
            "possible and the next one 6 months after the dose actually given. A newer manufacturer page "
            "says every 24 weeks with at least 20 weeks between doses (unconfirmed in the label)."
        ),
        "phases": [
            {
                "position": 1,
                "name": "initial",
                "dose_label": "300 mg IV",
                "doses": 2,
                "spacing_days": 14,
                "premed_minutes": 30,
                "infusion_minutes": 150,
                "observation_minutes": 60,
                "source": (
                    "[LABEL] Day 1 and Day 15, 300 mg each; infusion >=2.5 h (30->180 mL/h); "
                    "methylprednisolone ~30 min and antihistamine 30-60 min before; observe >=1 h after every "
                    "infusion. " + OCREVUS_SOURCE
                ),
            },
            {
                "position": 2,
                "name": "maintenance",
                "dose_label": "600 mg IV",
                "repeats": True,
                "interval_value": 6,
                "interval_unit": "months",
                "interval_anchor": "first_dose",
                "min_gap_value": 5,
                "min_gap_unit": "months",
                "premed_minutes": 30,
                "infusion_minutes": 210,
                "short_infusion_option": "short_infusion",
                "short_infusion_minutes": 120,
                "observation_minutes": 60,
                "source": (
                    "[LABEL] 600 mg every 6 months, first one 6 months after infusion 1; doses at least 5 months "
                    "apart (EU SmPC: minimum 5 months); standard infusion >=3.5 h; shorter option >=2 h only "
                    "with no prior serious infusion reaction; observe >=1 h. " + OCREVUS_SOURCE
                ),
            },
        ],
        "monitoring": [],
    },
    {
        "code": "ocrevus-zunovo",
        "drug": "ocrevus-zunovo",
        "name": "Ocrevus Zunovo (ocrelizumab and hyaluronidase SC)",
        "sources": (
            "US PI Highlights and section 2 (fda.report/DailyMed b216af61-99d0-42a3-afc2-b5bf86df1ec0; "
            "guidelinecentral.com). Minimum gap not confirmed: none seeded."
        ),
        "notes": "Given by a healthcare professional in the clinic; not interchangeable with IV ocrelizumab.",
        "phases": [
            {
                "position": 1,
                "name": "maintenance",
                "dose_label": "920 mg/23,000 U SC",
                "repeats": True,
                "interval_value": 6,
                "interval_unit": "months",
                "premed_minutes": 30,
                "infusion_minutes": 10,
                "observation_minutes": 60,
                "observation_infusions": 1,
                "later_observation_minutes": 15,
                "source": (
                    "[LABEL] single 23 mL SC injection over ~10 min every 6 months; oral dexamethasone and "
                    "antihistamine >=30 min before; observe >=1 h after the initial injection and >=15 min "
                    "after later ones."
                ),
            },
        ],
        "monitoring": [],
    },
    {
        "code": "tysabri",
        "drug": "tysabri",
        "name": "Tysabri (natalizumab IV)",
        "programme": "TOUCH Prescribing Program (REMS)",
        "requires_authorization": True,
        "reauthorization_months": 6,
        "sources": (
            "US PI (DailyMed setid c5fdde91-1989-4dd2-9129-4f3323ea2962, Oct 2023); tysabrihcp.com dosing; "
            "FDA REMS page (TOUCH). Extended interval: NOVA trial (Foley 2022), off-label in the US."
        ),
        "notes": (
            "Each infusion needs a current TOUCH authorization and the pre-infusion checklist. The 6-week "
            "extended interval is off-label (US) and set per course by the prescriber."
        ),
        "phases": [
            {
                "position": 1,
                "name": "maintenance",
                "dose_label": "300 mg IV",
                "repeats": True,
                "interval_value": 4,
                "interval_unit": "weeks",
                "alternative_interval_option": "extended_interval",
                "alternative_interval_value": 6,
                "alternative_interval_unit": "weeks",
                "premed_minutes": 0,
                "infusion_minutes": 60,
                "observation_minutes": 60,
                "observation_infusions": 12,
                "later_observation_minutes": 0,
                "reaction_keeps_observation": True,
                "source": (
                    "[LABEL] 300 mg over ~1 h every 4 weeks; no premedication required; observe 1 h after the "
                    "infusion for the first 12 infusions, then by clinical judgment if no hypersensitivity "
                    "(US, 10/2023). [LIT/off-label] extended interval every 6 weeks (NOVA)."
                ),
            },
        ],
        "monitoring": [],
    },
    {
        "code": "tyruko",
        "drug": "tyruko",
        "name": "Tyruko (natalizumab-sztn IV)",
        "programme": "TYRUKO REMS",
        "requires_authorization": True,
        "reauthorization_months": 6,
        "sources": (
            "rxlist.com Tyruko; injection.com; mymsteam.com (secondary); FDA REMS page 423. Whether the "
            "first-12-infusions count carries across a switch from Tysabri is not addressed: clinician decision."
        ),
        "notes": "Separate REMS from TOUCH; PML assessment at 3 and 6 months, then every 6 months.",
        "phases": [
            {
                "position": 1,
                "name": "maintenance",
                "dose_label": "300 mg IV",
                "repeats": True,
                "interval_value": 4,
                "interval_unit": "weeks",
                "premed_minutes": 0,
                "infusion_minutes": 60,
                "observation_minutes": 60,
                "observation_infusions": 12,
                "later_observation_minutes": 0,
                "reaction_keeps_observation": True,
                "source": (
                    "[LABEL secondary] as Tysabri: 300 mg over 1 h every 4 weeks; observe 1 h for the first "
                    "12 infusions. Premedication not stated; none assumed as for Tysabri (unverified)."
                ),
            },
        ],
        "monitoring": [],
    },
    {
        "code": "lemtrada",
        "drug": "lemtrada",
        "name": "Lemtrada (alemtuzumab IV)",
        "programme": "LEMTRADA REMS",
        "requires_authorization": True,
        "sources": (
            "US label summaries (neurologyadvisor.com; lemtradahcp.com dosing-monitoring; 2020 Highlights); "
            "EU SmPC (MIMS Malaysia). Monitoring: boxed warning (openFDA set_id 6236b0bc-...)."
        ),
        "notes": (
            "Herpes prophylaxis from day 1 of each course. Contraception during a course and 4 months after. "
            "EU allows at most two further courses; the US sets no limit."
        ),
        "phases": [
            {
                "position": 1,
                "name": "course 1",
                "dose_label": "12 mg/day IV",
                "doses": 5,
                "spacing_days": 1,
                "premed_minutes": 60,
                "premed_doses": 3,
                "infusion_minutes": 240,
                "observation_minutes": 120,
                "source": (
                    "[LABEL] 12 mg/day on 5 consecutive days, ~4 h infusion; methylprednisolone 1 g immediately "
                    "before on the first 3 days of each course (60 min is practice, not label); monitor 2 h "
                    "after each infusion."
                ),
            },
            {
                "position": 2,
                "name": "course 2",
                "dose_label": "12 mg/day IV",
                "doses": 3,
                "spacing_days": 1,
                "interval_value": 12,
                "interval_unit": "months",
                "interval_anchor": "previous_dose",
                "min_gap_value": 12,
                "min_gap_unit": "months",
                "premed_minutes": 60,
                "premed_doses": 3,
                "infusion_minutes": 240,
                "observation_minutes": 120,
                "source": "[LABEL] 12 mg/day on 3 consecutive days, 12 months after course 1.",
            },
            {
                "position": 3,
                "name": "further course",
                "dose_label": "12 mg/day IV",
                "doses": 3,
                "spacing_days": 1,
                "repeats": True,
                "when_needed": True,
                "interval_value": 12,
                "interval_unit": "months",
                "interval_anchor": "previous_dose",
                "min_gap_value": 12,
                "min_gap_unit": "months",
                "premed_minutes": 60,
                "premed_doses": 3,
                "infusion_minutes": 240,
                "observation_minutes": 120,
                "source": (
                    "[LABEL US] if needed, 12 mg/day on 3 consecutive days at least 12 months after the last "
                    "dose of any prior course."
                ),
            },
        ],
        "monitoring": [
            {
                "kind": "labs",
                "name": "CBC with differential, serum creatinine, urinalysis with cell counts",
                "every_months": 1,
                "until_months_after_last_dose": 48,
                "source": "[LABEL boxed warning] monthly until 48 months after the last infusion.",
            },
            {
                "kind": "labs",
                "name": "Thyroid function (TSH)",
                "every_months": 3,
                "until_months_after_last_dose": 48,
                "source": "[LABEL secondary] every 3 months until 48 months after the last infusion.",
            },
        ],
    },
    {
        "code": "briumvi",
        "drug": "briumvi",
        "name": "Briumvi (ublituximab IV)",
        "pregnancy_check": True,
        "sources": (
            "Medscape Briumvi monograph; EU SmPC (rxreasoner.com); briumvi.co.uk dosing; themeditary.com. "
            "US minimum gap not confirmed: the EU 5 months is seeded."
        ),
        "notes": "Verify pregnancy status before each infusion (US label).",
        "phases": [
            {
                "position": 1,
                "name": "initial",
                "dose_label": "150 mg IV, then 450 mg IV",
                "doses": 2,
                "spacing_days": 14,
                "premed_minutes": 30,
                "infusion_minutes": 60,
                "first_infusion_minutes": 240,
                "observation_minutes": 60,
                "source": (
                    "[LABEL] infusion 1: 150 mg over >=4 h; infusion 2: 450 mg 2 weeks later over >=1 h; "
                    "methylprednisolone ~30 min and antihistamine 30-60 min before; observe >=1 h after the "
                    "first two infusions."
                ),
            },
            {
                "position": 2,
                "name": "maintenance",
                "dose_label": "450 mg IV",
                "repeats": True,
                "interval_value": 24,
                "interval_unit": "weeks",
                "interval_anchor": "first_dose",
                "min_gap_value": 5,
                "min_gap_unit": "months",
                "premed_minutes": 30,
                "infusion_minutes": 60,
                "observation_minutes": 60,
                "observation_infusions": 2,
                "later_observation_minutes": 0,
                "reaction_keeps_observation": True,
                "source": (
                    "[LABEL] 450 mg every 24 weeks, first one 24 weeks after infusion 1; >=1 h infusion; "
                    "observation at physician discretion from infusion 3 unless an infusion reaction occurred; "
                    "[LABEL EU] at least 5 months between doses."
                ),
            },
        ],
        "monitoring": [],
    },
    {
        "code": "rituximab",
        "drug": "rituximab",
        "name": "Rituximab (off-label in MS, clinic protocol)",
        "sources": (
            "No MS label. HERMES trial (Hauser, NEJM 2008) for 1000 mg day 1 and 15; RA label for premedication, "
            "rates and the 16-week minimum (rituxanforra-hcp.com; vortuxi.com)."
        ),
        "notes": (
            "Off-label: the clinic's protocol governs the dose, the interval and observation (none in the label; "
            "set it here). Screen for HBV before starting (boxed warning)."
        ),
        "phases": [
            {
                "position": 1,
                "name": "initial",
                "dose_label": "1000 mg IV",
                "doses": 2,
                "spacing_days": 14,
                "premed_minutes": 30,
                "infusion_minutes": 195,
                "first_infusion_minutes": 255,
                "observation_minutes": 0,
                "source": (
                    "[LIT] 1000 mg day 1 and day 15 (HERMES); [COMPUTED from label rates] first infusion ~255 min, "
                    "second ~195 min; methylprednisolone 100 mg ~30 min before (RA label)."
                ),
            },
            {
                "position": 2,
                "name": "maintenance",
                "dose_label": "500-1000 mg IV",
                "repeats": True,
                "interval_value": 6,
                "interval_unit": "months",
                "interval_anchor": "previous_dose",
                "min_gap_value": 16,
                "min_gap_unit": "weeks",
                "premed_minutes": 30,
                "infusion_minutes": 195,
                "observation_minutes": 0,
                "source": (
                    "[practice] about every 6 months; [LABEL RA] not sooner than every 16 weeks; [COMPUTED] "
                    "1000 mg subsequent infusion ~195 min (500 mg ~120 min)."
                ),
            },
        ],
        "monitoring": [],
    },
]


# --- Which regimens are not given together, and the washout after each (migration 0007) --------

MS_DISEASE_MODIFYING = "MS disease-modifying therapy"

THERAPY_CLASS_SOURCE = (
    "Therapy class: every regimen here is one of the MS infusion therapies in the label facts' scope "
    "('Scope: Ocrevus (ocrelizumab IV), Tysabri (natalizumab IV, including extended-interval dosing), "
    "Lemtrada (alemtuzumab IV). Secondary: Briumvi (ublituximab IV), rituximab (off-label in MS), Ocrevus "
    "Zunovo (ocrelizumab + hyaluronidase, SC), Tyruko (natalizumab-sztn).'), so two of them are not given "
    "together. Washout: the label facts state no washout or switch interval for any of them; none is seeded."
)

NO_WASHOUT_NOTE = (
    "Washout before another MS disease-modifying therapy after this one stops: not given in the label facts, "
    "so none is seeded. Set it from the prescriber's protocol before switching."
)

NATALIZUMAB_SWITCH_NOTE = (
    "The label facts give no guidance on switching from natalizumab to an anti-CD20 therapy (Ocrevus, "
    "Briumvi, rituximab) and no washout for it, so none is seeded. Set it from the prescriber's protocol "
    "before switching."
)

# Per regimen code: its therapy class, the washout after it (None: not stated), and the sentence
# added to its notes. Applied to rows whose therapy class is still empty, so a clinic's own
# values survive.
THERAPY_CLASSES = {
    "ocrevus": {"therapy_class": MS_DISEASE_MODIFYING, "washout_days_after": None, "note": NO_WASHOUT_NOTE},
    "ocrevus-zunovo": {"therapy_class": MS_DISEASE_MODIFYING, "washout_days_after": None, "note": NO_WASHOUT_NOTE},
    "tysabri": {
        "therapy_class": MS_DISEASE_MODIFYING,
        "washout_days_after": None,
        "note": NATALIZUMAB_SWITCH_NOTE,
    },
    "tyruko": {
        "therapy_class": MS_DISEASE_MODIFYING,
        "washout_days_after": None,
        "note": NATALIZUMAB_SWITCH_NOTE,
    },
    "lemtrada": {"therapy_class": MS_DISEASE_MODIFYING, "washout_days_after": None, "note": NO_WASHOUT_NOTE},
    "briumvi": {"therapy_class": MS_DISEASE_MODIFYING, "washout_days_after": None, "note": NO_WASHOUT_NOTE},
    "rituximab": {"therapy_class": MS_DISEASE_MODIFYING, "washout_days_after": None, "note": NO_WASHOUT_NOTE},
}


# Programme names as a country's patients and nurses know them. The label facts name only the US
# programmes (TOUCH, TYRUKO REMS, LEMTRADA REMS), which are each regimen's `programme`. In the UK
# these products come with the risk-minimisation materials of their SmPC instead; the names below
# say so and are marked for the formulary manager to confirm against the current UK materials.
UK_PROGRAMME_SOURCE = (
    "Not in the label facts, which name only the US programmes: the UK has no REMS, and the product's "
    "additional risk-minimisation materials (SmPC annex) stand in for it. To be confirmed against the "
    "current UK materials."
)

PROGRAMME_NAMES = [
    {"regimen": "tysabri", "country": "GB", "name": "Tysabri risk minimisation forms", "source": UK_PROGRAMME_SOURCE},
    {"regimen": "tyruko", "country": "GB", "name": "Tyruko risk minimisation forms", "source": UK_PROGRAMME_SOURCE},
    {
        "regimen": "lemtrada",
        "country": "GB",
        "name": "Lemtrada risk minimisation checklist",
        "source": UK_PROGRAMME_SOURCE,
    },
]


# --- The checks before the needle (migration 0009) -------------------------------------------
#
# Per regimen code, the items a nurse ticks on the roster before starting the infusion, in
# roster order. `when`: every_dose, first_dose (dose 1 of the course) or block_first_dose (day 1
# of each block, e.g. each Lemtrada course). `kind`: tick, or authorization (ticked, and the
# course's programme authorization must be current). `verified` is False where the label facts
# do not state the item for this drug: seeded as clinic practice, to confirm before go-live.
# Labels read inside a sentence: "Tick the pre-infusion checklist and the infection check ...".

ANTI_CD20_INFECTION_SOURCE = (
    "[LABEL] assess for active infection before every infusion and delay it if one is present "
    "(label facts, cross-cutting requirements: all anti-CD20 therapies)."
)
INFECTION_CHECK_PRACTICE_SOURCE = (
    "Clinic practice: assess for active infection before every dose. The label facts state this for the "
    "anti-CD20 therapies only; not retrieved for this drug."
)
HBV_SOURCE = (
    "[LABEL] hepatitis B screening before the first dose; active HBV is a contraindication (prescriberpoint.com)."
)
IMMUNOGLOBULINS_SOURCE = "[LABEL] quantitative serum immunoglobulins before the first dose (prescriberpoint.com)."
LFT_SOURCE = (
    "[LABEL, added 8/2025] liver function tests (ALT, AST, alkaline phosphatase, bilirubin) before the first "
    "dose (prescriberpoint.com)."
)


def _check(position, label, source, *, when="every_dose", kind="tick", verified=True):
    return {"position": position, "label": label, "when": when, "kind": kind, "verified": verified, "source": source}


def _anti_cd20_first_dose(*, liver: bool, immunoglobulins_verified: bool = True) -> list[dict]:
    checks = [
        _check(1, "hepatitis B screening", HBV_SOURCE, when="first_dose"),
        _check(
            2,
            "serum immunoglobulins",
            IMMUNOGLOBULINS_SOURCE
            if immunoglobulins_verified
            else (
                "Not in the label facts for rituximab (off-label in MS): seeded as for the other anti-CD20 "
                "therapies; set it from the clinic's protocol."
            ),
            when="first_dose",
            verified=immunoglobulins_verified,
        ),
    ]
    if liver:
        checks.append(_check(3, "liver function tests", LFT_SOURCE, when="first_dose"))
    return checks


REGIMEN_CHECKS = {
    "ocrevus": [
        *_anti_cd20_first_dose(liver=True),
        _check(
            10,
            "infection check",
            "[LABEL via MFR] assess for active infection before every infusion; delay if present (ocrevus.com/hcp).",
        ),
    ],
    "ocrevus-zunovo": [
        *_anti_cd20_first_dose(liver=False),
        _check(10, "infection check", ANTI_CD20_INFECTION_SOURCE),
    ],
    "briumvi": [
        *_anti_cd20_first_dose(liver=True),
        _check(
            9,
            "pregnancy check",
            "[LABEL] verify pregnancy status in females of reproductive potential before each infusion "
            "(Medscape Briumvi monograph).",
        ),
        _check(
            10,
            "infection check",
            "[LABEL] assess for active infection before each infusion (Medscape Briumvi monograph).",
        ),
    ],
    "rituximab": [
        *_anti_cd20_first_dose(liver=False, immunoglobulins_verified=False),
        _check(10, "infection check", ANTI_CD20_INFECTION_SOURCE),
    ],
    "tysabri": [
        _check(
            1,
            "TOUCH authorization",
            "[REMS] Tysabri is available only through the TOUCH Prescribing Program: the infusion site confirms "
            "the patient is Authorized before each infusion (FDA REMS page, REMS=63; DailyMed boxed warning).",
            kind="authorization",
        ),
        _check(
            2,
            "pre-infusion checklist",
            "[REMS] the site completes the TOUCH Pre-infusion Patient Checklist for each patient before each "
            "infusion (the 2013 form asked for it within 1 day of the visit; verify current practice).",
        ),
        _check(10, "infection check", INFECTION_CHECK_PRACTICE_SOURCE, verified=False),
    ],
    "tyruko": [
        _check(
            1,
            "TYRUKO REMS authorization",
            "[REMS] Tyruko has its own TYRUKO REMS, separate from TOUCH (FDA REMS page 423). Its per-infusion "
            "authorization step was not retrieved: seeded as for TOUCH, verify.",
            kind="authorization",
            verified=False,
        ),
        _check(
            2,
            "pre-infusion checklist",
            "Seeded as for Tysabri's TOUCH checklist; the TYRUKO REMS pre-infusion steps were not retrieved: verify.",
            verified=False,
        ),
        _check(10, "infection check", INFECTION_CHECK_PRACTICE_SOURCE, verified=False),
    ],
    "lemtrada": [
        _check(
            1,
            "LEMTRADA REMS authorization",
            "[REMS] certified facilities verify the patient is authorized before each infusion (FDA REMS page, "
            "REMS=340, updated 03/04/2024; bcbsnd.com medical policy).",
            kind="authorization",
        ),
        _check(
            2,
            "REMS baseline labs",
            "[REMS, 2016 page] baseline labs within 30 days before the first infusion (Patient Authorization and "
            "Baseline Lab Form); check the current REMS.",
            when="first_dose",
            verified=False,
        ),
        _check(
            3,
            "herpes prophylaxis",
            "[LABEL] oral antiviral from the first day of each course, for at least 2 months or until CD4+ is at "
            "least 200 cells/uL (neurologyadvisor.com label summary).",
            when="block_first_dose",
        ),
        _check(10, "infection check", INFECTION_CHECK_PRACTICE_SOURCE, verified=False),
    ],
}


# --- Infusion rate steps (migration 0010) -------------------------------------------------------

# Per regimen code and phase position: each schedule ("standard", "first", "short") as
# (minutes after the infusion starts, rate, unit) steps, whether the label facts confirm them,
# and their source. Seeded only for a phase that has no steps yet, so a clinic's own survive.
_OCREVUS_RATES_SOURCE = "drugs.com ocrelizumab dosage; themeditary.com ocrelizumab dosage (label-derived)."
_BRIUMVI_RATES_SOURCE = "themeditary.com ublituximab dosage (drugs.com-derived); briumvi.co.uk; Medscape."
_RITUXIMAB_RATES_SOURCE = "vortuxi.com indications (rituximab label, all indications): rates in mg/h."


def _every_30(start: int, step: int, top: int) -> list[tuple[int, int]]:
    """Start at `start`, add `step` every 30 minutes up to `top`: [(minutes, rate), ...]."""
    return [(index * 30, start + index * step) for index in range((top - start) // step + 1)]


RATE_STEPS = {
    ("ocrevus", 1): [
        {
            "applies_to": "standard",
            "steps": [(m, r, "mL/h") for m, r in _every_30(30, 30, 180)],
            "verified": True,
            "source": "[LABEL] 300 mg in 250 mL: start 30 mL/h, +30 mL/h every 30 min, max 180 mL/h. "
            + _OCREVUS_RATES_SOURCE,
        }
    ],
    ("ocrevus", 2): [
        {
            "applies_to": "standard",
            "steps": [(m, r, "mL/h") for m, r in _every_30(40, 40, 200)],
            "verified": True,
            "source": "[LABEL] 600 mg in 500 mL: start 40 mL/h, +40 mL/h every 30 min, max 200 mL/h. "
            + _OCREVUS_RATES_SOURCE,
        },
        {
            "applies_to": "short",
            "steps": [(0, 100, "mL/h"), (15, 200, "mL/h"), (30, 250, "mL/h"), (60, 300, "mL/h")],
            "verified": False,
            "source": "[UNVERIFIED] 2-hour option: 100 mL/h 15 min, 200 mL/h 15 min, 250 mL/h 30 min, 300 mL/h "
            "60 min, from memory in the label facts; only the >=2 h duration is confirmed.",
        },
    ],
    ("briumvi", 1): [
        {
            "applies_to": "first",
            "steps": [(0, 10, "mL/h"), (30, 20, "mL/h"), (60, 35, "mL/h"), (120, 100, "mL/h")],
            "verified": True,
            "source": "[LABEL] infusion 1, 150 mg in 250 mL: 10 mL/h 30 min, 20 mL/h 30 min, 35 mL/h 1 h, then "
            "100 mL/h for the remaining 2 h. " + _BRIUMVI_RATES_SOURCE,
        },
        {
            "applies_to": "standard",
            "steps": [(0, 100, "mL/h"), (30, 400, "mL/h")],
            "verified": True,
            "source": "[LABEL] infusion 2, 450 mg in 250 mL: 100 mL/h 30 min, then 400 mL/h 30 min. "
            + _BRIUMVI_RATES_SOURCE,
        },
    ],
    ("briumvi", 2): [
        {
            "applies_to": "standard",
            "steps": [(0, 100, "mL/h"), (30, 400, "mL/h")],
            "verified": True,
            "source": "[LABEL] later infusions, 450 mg in 250 mL: 100 mL/h 30 min, then 400 mL/h 30 min. "
            + _BRIUMVI_RATES_SOURCE,
        }
    ],
    ("rituximab", 1): [
        {
            "applies_to": "first",
            "steps": [(m, r, "mg/h") for m, r in _every_30(50, 50, 400)],
            "verified": True,
            "source": "[LABEL] first infusion: start 50 mg/h, after 30 min +50 mg/h every 30 min, max 400 mg/h. "
            + _RITUXIMAB_RATES_SOURCE,
        },
        {
            "applies_to": "standard",
            "steps": [(m, r, "mg/h") for m, r in _every_30(100, 100, 400)],
            "verified": True,
            "source": "[LABEL] later infusions: start 100 mg/h, +100 mg/h every 30 min, max 400 mg/h. "
            + _RITUXIMAB_RATES_SOURCE,
        },
    ],
    ("rituximab", 2): [
        {
            "applies_to": "standard",
            "steps": [(m, r, "mg/h") for m, r in _every_30(100, 100, 400)],
            "verified": True,
            "source": "[LABEL] later infusions: start 100 mg/h, +100 mg/h every 30 min, max 400 mg/h. "
            + _RITUXIMAB_RATES_SOURCE,
        }
    ],
}

# Which reaction brings the full observation back, per regimen code (phases with
# `reaction_keeps_observation`): Tysabri and Tyruko after a hypersensitivity reaction ("For
# patients who have shown no evidence of a hypersensitivity reaction, postinfusion observation
# is according to clinical judgment from the 13th infusion onward"); Briumvi after any infusion
# reaction or hypersensitivity ("unless an infusion reaction or hypersensitivity occurred with
# the current or any prior infusion").
OBSERVATION_KEPT_AFTER = {"tysabri": "hypersensitivity", "tyruko": "hypersensitivity", "briumvi": "any"}
