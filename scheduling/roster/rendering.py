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
