"""bench/simulate's earlier-time offers: the share of the chair-hours freed by cancellations that offers refill.

After each simulated day's cancellations, `refill_freed` runs the real offer service on the
chair time they freed (`scheduling.offers`: the candidates, the batches, the links), and each
patient asked answers at a seeded rate: yes (through `offer_accept`, so the booking services
book or move them) or no thanks (`offer_decline`, which asks the next patients). A patient
booked later who moves earlier frees their old time, which is offered in turn and counted as
freed too, so the figure is net of those moves.

The simulated patients take messages at the rates below (the bench's population has none of
its own), and a share of them agreed to be asked about an earlier time.
"""

from __future__ import annotations

import logging
import os
import random
from collections import defaultdict
from dataclasses import dataclass, field

ACCEPT_RATE = float(os.environ.get("BENCH_OFFER_ACCEPT", "0.35"))  # of the patients asked, those who say yes
REACHABLE = 0.85  # patients with an email address and consent to messages
OPTED_IN = 0.4  # of them, those who want to be asked about an earlier time
MAX_ROUNDS = 20
SEED = int(os.environ.get("BENCH_OFFER_SEED", "2026"))  # the answers' own seed, apart from the simulation's draws


@dataclass
class OfferTally:
    freed_minutes: int = 0
    refilled_minutes: int = 0
    asked: int = 0
    accepted: int = 0
    seen_patient: int = 0  # the highest patient id given its message settings
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))  # noqa: S311 - benchmark data

    @property
    def share(self) -> float:
        return self.refilled_minutes / self.freed_minutes if self.freed_minutes else 0.0


TALLIES: dict[int, OfferTally] = defaultdict(OfferTally)  # by clinic id


# One line per offer answered would bury the bench's figures.
logging.getLogger("scheduling.offers").setLevel(logging.WARNING)


def _reach_new_patients(clinic, tally: OfferTally, rng: random.Random) -> None:
    from patients.models import Patient

    for patient in Patient.objects.filter(clinic=clinic, pk__gt=tally.seen_patient).order_by("pk"):
        if rng.random() < REACHABLE:
            patient.email = f"{patient.mrn.lower()}@patients.example.org"
            patient.reminder_consent = True
            patient.wants_earlier_offers = rng.random() < OPTED_IN
            patient.save(update_fields=["email", "reminder_consent", "wants_earlier_offers"])
        tally.seen_patient = patient.pk


def _minutes(start, end) -> int:
    return int((end - start).total_seconds() // 60)


def refill_freed(clinic, appointment_ids) -> OfferTally:
    """Offer the chair time these cancelled visits freed, with simulated answers; returns the clinic's running tally."""
    from scheduling.models import AnswerLink, ChairOpening, SlotOffer
    from scheduling.offers.services import OfferAnswer, offer_accept, offer_decline, opening_offer_next
    from scheduling.reminders.answer_links import offer_answer_link

    tally = TALLIES[clinic.pk]
    rng = tally.rng
    _reach_new_patients(clinic, tally, rng)
    queue = list(ChairOpening.objects.filter(freed_by_id__in=list(appointment_ids), status=ChairOpening.Status.NEW))
    while queue:
        opening = queue.pop(0)
        tally.freed_minutes += _minutes(opening.starts_at, opening.ends_at)
        opening_offer_next(opening_id=opening.pk)
        for _round in range(MAX_ROUNDS):
            offers = list(SlotOffer.objects.filter(opening=opening, status=SlotOffer.Status.OPEN).order_by("pk"))
            if not offers:
                break
            taken = None
            for offer in offers:
                tally.asked += 1
                if rng.random() < ACCEPT_RATE:
                    link = offer_answer_link(offer=offer, purpose=AnswerLink.Purpose.TAKE_OFFER)
                    answer = offer_accept(token=link.token)
                    if answer.outcome == OfferAnswer.BOOKED:
                        taken = answer
                        break
                else:
                    offer_decline(token=offer_answer_link(offer=offer, purpose=AnswerLink.Purpose.DECLINE_OFFER).token)
            if taken is not None:
                tally.accepted += 1
                tally.refilled_minutes += _minutes(taken.appointment.starts_at, taken.appointment.ends_at)
                if taken.offer.appointment_id:  # moved earlier: their old time is freed and offered in turn
                    queue.extend(
                        ChairOpening.objects.filter(
                            freed_by_id=taken.offer.appointment_id, status=ChairOpening.Status.NEW
                        )
                    )
                break
    return tally


def refilled_line() -> str:
    """The figure bench/simulate prints, over the clinics of the run."""
    tallies = list(TALLIES.values())
    freed = sum(item.freed_minutes for item in tallies)
    refilled = sum(item.refilled_minutes for item in tallies)
    share = 100 * refilled / freed if freed else 0.0
    asked = sum(item.asked for item in tallies)
    accepted = sum(item.accepted for item in tallies)
    return (
        f"freed chair-hours refilled by offers: {share:.1f}% ({refilled / 60:.1f} of {freed / 60:.1f} h; "
        f"{accepted} offers taken of {asked} patients asked, each saying yes at {ACCEPT_RATE:.0%})"
    )
