"""The roster's repeated HTML: timeline bars, flag badges, status buttons and load cells.

The roster repeats these for every visit, up to 150 times a page: built here with
format_html (escaped like the template would) they cost a tenth of the template tags.
"""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe


def flags_html(flags) -> str:
    return format_html_join(
        "",
        '<span class="badge roster-flag flag-{}"{}>{}</span>{} ',
        (
            (
                flag.level,
                format_html(' title="{}"', flag.detail) if flag.detail else "",
                flag.label,
                format_html('<span class="visually-hidden"> ({})</span>', flag.detail) if flag.detail else "",
            )
            for flag in flags
        ),
    )


def flags_short_html(flags) -> str:
    return format_html_join(
        "",
        ' <span class="roster-flag-short flag-{}" title="{}">{}</span>',
        ((flag.level, flag.label, flag.short) for flag in flags),
    )


def bar_html(visit) -> str:
    """One visit on the timeline: its chair time in parts, and what the nurse reads at a glance."""
    classes = (
        f"roster-bar status-{visit.status}{' is-late' if visit.late else ''}{' is-overrun' if visit.overrun else ''}"
    )
    segments = format_html_join(
        "",
        '<span class="seg seg-{}" data-width="{}"></span>',
        ((segment.kind, segment.percent) for segment in visit.segments),
    )
    tags = format_html(
        "{}{}",
        mark_safe(' · <span class="roster-tag-late">Late</span>') if visit.late else "",  # noqa: S308 - constant
        mark_safe(' · <span class="roster-tag-overrun">Overrun</span>') if visit.overrun else "",  # noqa: S308 - constant
    )
    return format_html(
        # Positions as data attributes, which chairside.js applies: the page allows no style attribute.
        '<a class="{}" href="#visit-{}" data-left="{}" data-width="{}">'
        '<span class="roster-segments" aria-hidden="true">{}</span>'
        '<span class="roster-bar-text"><strong>{}</strong> {} #{} · {}–{} · {}{}{}</span></a>',
        classes,
        visit.pk,
        visit.left,
        visit.width,
        segments,
        visit.patient_name,
        visit.drug,
        visit.dose_number,
        visit.starts,
        visit.ends,
        visit.status_label,
        tags,
        visit.flags_short_html,
    )


def load_cells_html(load) -> str:
    return format_html_join(
        "",
        '<td class="roster-slot{}">{}{}</td>',
        (
            (
                " roster-slot-over" if over else "",
                text,
                mark_safe('<span class="visually-hidden"> over the rule</span>') if over else "",  # noqa: S308 - constant
            )
            for text, over in load.cells
        ),
    )


def moves_html(visit, moves, csrf_input) -> str:
    return format_html_join(
        "\n",
        '<form method="post" action="{url}" hx-post="{url}" hx-target="#roster-body" hx-swap="outerHTML" '
        'class="d-inline">{csrf}<input type="hidden" name="status" value="{status}">'
        '<button type="submit" class="btn btn-sm {style}"{id}>{label}'
        '<span class="visually-hidden">: {name}</span></button></form>',
        (
            {
                "url": visit.status_url,
                "csrf": csrf_input,
                "status": move.to_status,
                "style": "btn-outline-danger"
                if move.to_status == "no_show"
                else ("btn-primary" if index == 0 else "btn-outline-primary"),
                # The next step keeps one id, so focus stays on it when the roster refreshes.
                "id": format_html(' id="visit-{}-next"', visit.pk) if index == 0 else "",
                "label": move.label,
                "name": visit.patient_name,
            }
            for index, move in enumerate(moves)
        ),
    )


def undo_html(visit, undo, csrf_input) -> str:
    """The button that takes back the visit's last status move, while it can be."""
    if undo is None:
        return ""
    return format_html(
        '<form method="post" action="{url}" hx-post="{url}" hx-target="#roster-body" hx-swap="outerHTML" '
        'class="d-inline">{csrf}<button type="submit" class="btn btn-sm btn-link">Undo “{label}”'
        '<span class="visually-hidden">: {name}</span></button></form>',
        url=visit.undo_url,
        csrf=csrf_input,
        label=undo.label,
        name=visit.patient_name,
    )


def checklist_html(
    visit, *, csrf_input, can_tick: bool, can_override: bool, before_infusion: bool, override_form=None
) -> str:
    """The checks before the needle on the visit's card: one button per item to tick or take back, who and when.

    Each item is its own small form (a POST with the CSRF token, htmx like the status buttons),
    a button with `aria-pressed`, so a keyboard reaches and presses it and a screen reader hears
    whether it is ticked. A visit not yet arrived, or already infusing, lists its items as text;
    an authorization to renew or override is named only while the infusion has not started.
    """
    checklist = visit.checklist
    if visit.status in ("no_show", "cancelled"):
        return ""  # nothing is given at a visit that did not happen
    needs_override = checklist is not None and checklist.needs_override and before_infusion
    if checklist is None or not (checklist.items or needs_override or checklist.overridden):
        return ""
    tz = visit.appointment.clinic.tz
    rows = []
    for item in checklist.items:
        label = item.label[:1].upper() + item.label[1:]
        done = (
            format_html(
                ' <span class="roster-check-who">{}, {}</span>',
                item.ticked_by,
                item.ticked_at.astimezone(tz).strftime("%H:%M"),
            )
            if item.ticked
            else ""
        )
        if can_tick:
            rows.append(
                format_html(
                    '<li><form method="post" action="{url}" hx-post="{url}" hx-target="#roster-body" '
                    'hx-swap="outerHTML" class="d-inline">{csrf}<input type="hidden" name="check" value="{check}">'
                    '<input type="hidden" name="ticked" value="{next}">'
                    '<button type="submit" class="btn btn-sm roster-check {style}" id="visit-{pk}-check-{check}" '
                    'aria-pressed="{pressed}"><span aria-hidden="true">{box}</span> {label}'
                    '<span class="visually-hidden">{action}: {name}</span></button></form>{done}</li>',
                    url=visit.checks_url,
                    csrf=csrf_input,
                    check=item.check_id,
                    next="" if item.ticked else "1",
                    style="btn-success" if item.ticked else "btn-outline-secondary",
                    pk=visit.pk,
                    pressed="true" if item.ticked else "false",
                    box="☑" if item.ticked else "☐",
                    label=label,
                    action=", ticked, press to take back" if item.ticked else ", not ticked, press to tick",
                    name=visit.patient_name,
                    done=done,
                )
            )
        else:
            rows.append(
                format_html(
                    '<li class="roster-check-{}"><span aria-hidden="true">{}</span> {}<span class="visually-hidden">{}'
                    "</span>{}</li>",
                    "ticked" if item.ticked else "open",
                    "☑" if item.ticked else "☐",
                    label,
                    ": ticked" if item.ticked else ": not ticked",
                    done,
                )
            )
    override = ""
    if checklist.overridden:
        override = format_html(
            '<p class="roster-override small mb-0">Authorization overridden by {} at {}: {}</p>',
            checklist.override_by,
            checklist.override_at.astimezone(tz).strftime("%H:%M"),
            checklist.override_reason,
        )
    elif needs_override:
        problem = format_html('<p class="roster-override-needed small mb-1">{}</p>', checklist.authorization_problem())
        form = ""
        if can_override:
            typed, error = (override_form or {}).get("reason", ""), (override_form or {}).get("error", "")
            form = format_html(
                '<details class="roster-override-form"{open}><summary class="btn btn-sm btn-outline-danger" '
                'id="visit-{pk}-override">Override…<span class="visually-hidden"> the expired authorization: {name}'
                "</span></summary>"
                '<form method="post" action="{url}" hx-post="{url}" hx-target="#roster-body" hx-swap="outerHTML">{csrf}'
                '<label class="form-label small mb-0" for="visit-{pk}-override-reason">Why the infusion may start '
                "on this authorization</label>"
                '<textarea class="form-control form-control-sm{invalid}" name="reason" rows="2" maxlength="2000" '
                'id="visit-{pk}-override-reason" required{described}>{typed}</textarea>{error}'
                '<button type="submit" class="btn btn-sm btn-danger mt-1">Allow the infusion</button></form></details>',
                open=" open" if override_form else "",
                pk=visit.pk,
                name=visit.patient_name,
                url=visit.override_url,
                csrf=csrf_input,
                invalid=" is-invalid" if error else "",
                described=format_html(' aria-describedby="visit-{}-override-error"', visit.pk) if error else "",
                typed=typed,
                error=format_html(
                    '<div class="invalid-feedback" id="visit-{}-override-error">{}</div>', visit.pk, error
                )
                if error
                else "",
            )
        override = format_html("{}{}", problem, form)
    return format_html(
        '<div class="roster-checklist"><p class="small fw-semibold mb-0" id="visit-{}-checks">Before the needle</p>'
        '<ul class="list-unstyled mb-1" aria-labelledby="visit-{}-checks">{}</ul>{}</div>',
        visit.pk,
        visit.pk,
        mark_safe("".join(rows)),  # noqa: S308 - each row built with format_html above
        override,
    )
