"""Reading the audit trail: the entries about some rows, as a page shows them.

A page names the rows whose history it shows (`about`), and gets back the newest entries
with each change written out for a person: the field's name, the old and the new value, in
the clinic's time zone, related rows by name (`history`). Views of a record are entries of
their own (`record_viewed`, `views_of`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo

from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry
from auditlog.signals import accessed
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q, QuerySet
from django.utils.text import capfirst

from audit.middleware import VIA_ADMIN, VIA_API, VIA_APP
from clinic import dates

# How many entries a page lists; the count says how many there are in all.
HISTORY_LIMIT = 50
# Longer values (notes) are cut here on the page; the log keeps them whole.
VALUE_LENGTH = 200
EMPTY = "—"
# What the log keeps of a secret field (a password hash): that it changed, never the value.
HIDDEN = "(not shown)"

_ACTIONS = {
    LogEntry.Action.CREATE: "Created",
    LogEntry.Action.UPDATE: "Changed",
    LogEntry.Action.DELETE: "Deleted",
    LogEntry.Action.ACCESS: "Viewed",
}
_VIA = {VIA_APP: "Chairside", VIA_ADMIN: "Clinic settings (admin)", VIA_API: "FHIR API"}
# No request around the change: `manage.py shell`, a management command or a background job.
NO_REQUEST = "Shell or background job"


def hide(value: str) -> str:
    """auditlog's mask for secret fields (AUDITLOG_MASK_CALLABLE)."""
    return HIDDEN


def about(queryset: QuerySet, *, owner: str | None = None, owner_id: int | None = None) -> Q:
    """The entries about the rows of `queryset`.

    With `owner`, also the deletions of rows whose `owner` field pointed at `owner_id` (a
    clinic's removed opening hours): the model must be registered with
    `serialize_data=True, serialize_kwargs={"fields": [owner]}`, so the entry keeps it.
    """
    content_type = ContentType.objects.get_for_model(queryset.model)
    found = Q(content_type=content_type, object_id__in=queryset.values("pk"))
    if owner:
        found |= Q(
            content_type=content_type,
            action=LogEntry.Action.DELETE,
            **{f"serialized_data__fields__{owner}": owner_id},
        )
    return found


def changes_to(*parts: Q) -> QuerySet[LogEntry]:
    """Every change (no views) to the rows the parts name, newest first."""
    found = Q()
    for part in parts:
        found |= part
    return (
        LogEntry.objects.filter(found)
        .exclude(action=LogEntry.Action.ACCESS)
        .select_related("actor", "content_type")
        .order_by("-timestamp", "-pk")
    )


def record_viewed(instance: models.Model) -> None:
    """Log that the signed-in user opened this record (the model must be registered with auditlog)."""
    accessed.send(sender=type(instance), instance=instance)


def created_in_bulk(instances: list[models.Model], *, actor=None) -> None:
    """The entries `save()` would have written for rows inserted with `bulk_create` (which sends no signal).

    For a write of many rows at once (an import); the model must be registered with auditlog.
    """
    if not instances:
        return
    content_type = ContentType.objects.get_for_model(type(instances[0]))
    use_json = getattr(settings, "AUDITLOG_STORE_JSON_CHANGES", False)
    LogEntry.objects.bulk_create(
        [
            LogEntry(
                content_type=content_type,
                object_pk=str(instance.pk),
                object_id=instance.pk,
                object_repr=str(instance),
                action=LogEntry.Action.CREATE,
                changes=model_instance_diff(None, instance, use_json_for_changes=use_json) or {},
                actor=actor,
            )
            for instance in instances
        ],
        batch_size=1000,
    )


def views_of(instance: models.Model) -> QuerySet[LogEntry]:
    """Who opened this record, and when, newest first."""
    return (
        LogEntry.objects.get_for_object(instance)
        .filter(action=LogEntry.Action.ACCESS)
        .select_related("actor", "content_type")
        .order_by("-timestamp", "-pk")
    )


@dataclass(frozen=True)
class Change:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class Row:
    at: datetime
    actor: str
    via: str
    address: str
    action: str
    what: str
    changes: list[Change] = field(default_factory=list)
    record: str = ""  # the row's id, as the log keeps it


@dataclass(frozen=True)
class History:
    rows: list[Row]
    count: int

    @property
    def more(self) -> int:
        """How many older entries the page leaves out."""
        return self.count - len(self.rows)


def history(
    entries: QuerySet[LogEntry],
    *,
    time_zone: tzinfo,
    labels: dict[tuple[type[models.Model], int], str] | None = None,
    limit: int = HISTORY_LIMIT,
) -> History:
    """The newest `limit` entries as rows for a page, and how many there are in all.

    `labels` names rows in a way the page's reader knows them ("Course on Ocrevus"); a row
    without one is named by its kind.
    """
    listed = list(entries[:limit])
    count = len(listed) if len(listed) < limit else entries.count()
    names = _related_names(listed)
    labels = labels or {}
    rows = []
    for entry in listed:
        model = entry.content_type.model_class()
        kind = capfirst(model._meta.verbose_name) if model else entry.content_type.model
        rows.append(
            Row(
                at=entry.timestamp.astimezone(time_zone),
                actor=_person(entry.actor) if entry.actor else (entry.actor_email or ""),
                via=_VIA.get((entry.additional_data or {}).get("via"), NO_REQUEST),
                address=entry.remote_addr or "",
                action=_ACTIONS.get(entry.action, ""),
                what=labels.get((model, entry.object_id), kind),
                changes=[] if model is None else _changes(entry, model, time_zone, names),
                record="" if entry.object_id is None else str(entry.object_id),
            )
        )
    return History(rows=rows, count=count)


def _person(user) -> str:
    return user.get_full_name() or user.get_username()


def _field(model, name: str):
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _related_names(entries: list[LogEntry]) -> dict[tuple[type[models.Model], str], str]:
    """The names of every row the entries' foreign keys point at: one query per related model."""
    wanted: dict[type[models.Model], set[str]] = defaultdict(set)
    for entry in entries:
        model = entry.content_type.model_class()
        if model is None:
            continue
        for name, values in (entry.changes or {}).items():
            found = _field(model, name)
            if isinstance(found, models.ForeignKey) and isinstance(values, list):
                wanted[found.related_model].update(str(value) for value in values if value not in (None, ""))
    names = {}
    for related, pks in wanted.items():
        user_model = related._meta.label == settings.AUTH_USER_MODEL
        for row in related._default_manager.filter(pk__in=pks):
            names[related, str(row.pk)] = _person(row) if user_model else str(row)
    return names


def _changes(entry: LogEntry, model, time_zone: tzinfo, names) -> list[Change]:
    if entry.action == LogEntry.Action.ACCESS:
        return []
    changes = []
    for name, values in sorted((entry.changes or {}).items()):
        found = _field(model, name)
        if found is not None and found.auto_created and not found.concrete:
            continue  # a reverse relation (a patient's "appointments"), which auditlog lists on creation
        label = capfirst(found.verbose_name) if found is not None and hasattr(found, "verbose_name") else name
        if isinstance(values, dict) and values.get("type") == "m2m":
            objects = ", ".join(values.get("objects", []))
            added = values.get("operation") == "add"
            changes.append(Change(label, "" if added else objects, objects if added else ""))
            continue
        old, new = values
        changes.append(Change(label, _shown(found, old, time_zone, names), _shown(found, new, time_zone, names)))
    return changes


def _shown(found, value, time_zone: tzinfo, names) -> str:
    """One stored value as a person reads it."""
    if value in (None, "", "None"):
        return EMPTY
    if value == HIDDEN or found is None:
        return _cut(str(value))
    if isinstance(found, models.ForeignKey):
        return names.get(
            (found.related_model, str(value)), f"{capfirst(found.related_model._meta.verbose_name)} {value}"
        )
    if found.choices:
        return str(dict(found.flatchoices).get(value, value))
    if isinstance(found, models.BooleanField):
        return "Yes" if value in (True, "True") else "No"
    try:
        if isinstance(found, models.DateTimeField):
            moment = datetime.fromisoformat(str(value))
            if moment.tzinfo is None:  # auditlog keeps moments as naive UTC
                moment = moment.replace(tzinfo=UTC)
            return dates.moment(moment.astimezone(time_zone))
        if isinstance(found, models.DateField):
            return dates.day(date.fromisoformat(str(value)[:10]))
        if isinstance(found, models.TimeField):
            return str(value)[:5]
    except ValueError:
        return _cut(str(value))
    if isinstance(value, dict | list):
        return _cut(json.dumps(value, sort_keys=True))
    return _cut(str(value))


def _cut(text: str) -> str:
    return text if len(text) <= VALUE_LENGTH else text[: VALUE_LENGTH - 1] + "…"
