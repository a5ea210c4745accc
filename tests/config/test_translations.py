"""The message catalogues: every word marked for translation is translated, and the compiled .mo is the .po.

A patient-facing word (a message, an answer page, their errors and forms) is marked with
`gettext` or `{% translate %}`. The extraction test runs Django's `makemessages` over a copy
of the code and compares with the committed catalogue, so a new word that nobody translated
fails here, and so does a catalogue left behind by the code. `makemessages` needs GNU gettext
(`apt-get install gettext`, on the CI machine); without it the test is skipped, except in CI.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("accounts", "audit", "clinic", "config", "patients", "scheduling", "templates")
EXTENSIONS = ["html", "txt", "py"]


def _translated_languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES if code != "en"]


def _catalogue(language: str) -> Path:
    return ROOT / "locale" / language / "LC_MESSAGES" / "django.po"


def _entries(catalogue) -> dict[tuple[str | None, str], object]:
    return {(entry.msgctxt, entry.msgid): entry for entry in catalogue if not entry.obsolete}


def _untranslated(catalogue) -> list[str]:
    problems = []
    for entry in catalogue:
        if entry.obsolete:
            continue
        forms = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        if "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {entry.msgid!r}")
        elif not forms or not all(form.strip() for form in forms):
            problems.append(f"untranslated: {entry.msgid!r}")
    return problems


def _extract(language: str, into: Path) -> polib.POFile:
    """The catalogue `makemessages` makes from a copy of the code, merged with the committed one."""
    for name in SOURCES:
        shutil.copytree(ROOT / name, into / name, ignore=shutil.ignore_patterns("__pycache__", "migrations"))
    locale = into / "locale" / language / "LC_MESSAGES"
    locale.mkdir(parents=True)
    shutil.copy(_catalogue(language), locale / "django.po")
    current = Path.cwd()
    os.chdir(into)
    try:
        call_command(
            "makemessages", locale=[language], extensions=EXTENSIONS, no_obsolete=True, verbosity=0, no_location=True
        )
    finally:
        os.chdir(current)
    return polib.pofile(str(locale / "django.po"))


@pytest.fixture
def gettext_tools():
    if shutil.which("xgettext") and shutil.which("msgmerge"):
        return
    if os.environ.get("CI"):
        pytest.fail("GNU gettext is missing: `apt-get install gettext` (the CI's apt-get line installs it).")
    pytest.skip("GNU gettext (xgettext, msgmerge) is not installed: `apt-get install gettext` to run this test.")


@pytest.mark.parametrize("language", _translated_languages())
def test_every_word_marked_for_translation_is_in_the_catalogue_translated_and_not_fuzzy(
    language, gettext_tools, tmp_path, settings
):
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    extracted = _extract(language, tmp_path)
    committed = polib.pofile(str(_catalogue(language)))

    missing = sorted(msgid for key in set(_entries(extracted)) - set(_entries(committed)) for msgid in [key[1]])
    left_behind = sorted(msgid for key in set(_entries(committed)) - set(_entries(extracted)) for msgid in [key[1]])
    assert not missing, (
        f"New words to translate in locale/{language}: run `python manage.py makemessages -l {language} "
        f"-e html,txt,py --no-obsolete`, translate them, then `compilemessages`: {missing}"
    )
    assert not left_behind, f"Words no longer in the code, still in locale/{language}: {left_behind}"
    assert not _untranslated(extracted), _untranslated(extracted)


@pytest.mark.parametrize("language", _translated_languages())
def test_the_committed_catalogue_is_translated_and_its_compiled_mo_says_the_same(language):
    catalogue = polib.pofile(str(_catalogue(language)))
    assert not _untranslated(catalogue), _untranslated(catalogue)
    compiled = polib.mofile(str(_catalogue(language).with_suffix(".mo")))

    def translations(entries) -> dict:
        return {
            (entry.msgctxt, entry.msgid): (
                tuple(entry.msgstr_plural[index] for index in sorted(entry.msgstr_plural))
                if entry.msgid_plural
                else entry.msgstr
            )
            for entry in entries
            if entry.msgid and not entry.obsolete
        }

    assert translations(compiled) == translations(catalogue), (
        f"locale/{language}/LC_MESSAGES/django.mo is not the .po compiled: run `python manage.py compilemessages`."
    )
