"""The enumerated fields' values are defined once, in shared/choices.py: the clients' generated
copies are as a fresh generation writes them, the database's CHECK constraints and SLA function
allow exactly those values, and no hand-written file spells a list of them out again."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import sql

from shared import choices, client_values, sla

ROOT = Path(__file__).resolve().parent.parent
ENUMERATIONS = {"feedback types": choices.FEEDBACK_TYPES, "priorities": choices.PRIORITIES,
                "statuses": choices.STATUSES, "sources": choices.SOURCES, "SLA states": choices.SLA_STATUSES}
# The feedback table's columns that hold an enumeration, and which.
COLUMNS = {"type": choices.FEEDBACK_TYPES, "priority": choices.PRIORITIES, "status": choices.STATUSES,
           "source": choices.SOURCES}
# Hand-written files that name several values together without copying a list: the mail
# intake's words for each type, and the SLA of each priority (compared below).
NOT_COPIES = {"shared/mail_intake.py", "shared/sla.py"}


@pytest.mark.parametrize("path", sorted(client_values.generated(), key=str), ids=lambda p: p.name)
def test_each_generated_copy_is_as_a_fresh_generation_writes_it(path):
    assert path.read_text() == client_values.generated()[path], (
        f"{path.relative_to(ROOT)} is stale: run `python manage.py client-values`")


def test_the_cli_and_vs_code_modules_hold_every_value():
    text = client_values.cli_module() + client_values.typescript_module()
    assert all(f'"{value}"' in text for values in ENUMERATIONS.values() for value in values)


@pytest.mark.parametrize("column", COLUMNS)
def test_the_database_allows_exactly_the_values_of_each_column(database_url, column):
    [[definition]] = sql(database_url, """
        SELECT pg_get_constraintdef(oid) FROM pg_constraint
         WHERE conrelid = 'feedback'::regclass AND contype = 'c' AND conname = 'feedback_' || :column || '_check'""",
                           column=column)
    assert tuple(re.findall(r"'(\w+)'::character varying", definition)) == COLUMNS[column], definition


def test_the_database_sla_function_answers_exactly_the_sla_states(database_url):
    [[body]] = sql(database_url, "SELECT prosrc FROM pg_proc WHERE proname = 'sla_status'")
    assert set(re.findall(r"(?:THEN|ELSE) '(\w+)'", body)) == set(choices.SLA_STATUSES), body


def test_every_priority_has_an_sla():
    assert sorted({**sla.BUSINESS_DAYS, **sla.CLOCK_HOURS}) == sorted(choices.PRIORITIES)


def _hand_written_files() -> list[Path]:
    generated = set(client_values.generated()) - {client_values.WIDGET}
    found = [*ROOT.glob("shared/**/*.py"), *ROOT.glob("shared/**/*.html"), client_values.WIDGET,
             *ROOT.glob("clients/cli/src/**/*.py"), *ROOT.glob("clients/vscode/src/**/*.ts"), ROOT / "manage.py"]
    return [p for p in found if p not in generated and p != ROOT / "shared/choices.py"
            and str(p.relative_to(ROOT)) not in NOT_COPIES]


def _lists_spelled_out(text: str) -> list[str]:
    """Enumerations of which four values or more come within eight quoted strings of each other
    (fewer is a subset with a meaning of its own, as the closed statuses)."""
    quoted = re.findall(r"""["']([^"'\n]*)["']""", text)
    return sorted({name for name, values in ENUMERATIONS.items() for start in range(len(quoted))
                   if len(set(quoted[start:start + 8]) & set(values)) >= 4})


def test_no_hand_written_file_spells_out_a_list_of_values_again():
    copies = {}
    for path in _hand_written_files():
        text = client_values.WIDGET_BLOCK.sub("", path.read_text()) if path == client_values.WIDGET else path.read_text()
        if found := _lists_spelled_out(text):
            copies[str(path.relative_to(ROOT))] = found
    assert not copies, f"import them from shared.choices (or the clients' generated modules): {copies}"


def test_a_spelled_out_list_is_recognised():
    assert _lists_spelled_out('PRIORITIES = ("low", "medium", "high", "urgent")') == ["priorities"]
    assert _lists_spelled_out('[{ label: "Bug", value: "bug" }, { label: "Docs", value: "docs" },'
                              ' { label: "UX", value: "ux" }, { label: "Other", value: "other" }]') == ["feedback types"]
    assert _lists_spelled_out("status NOT IN ('completed', 'declined', 'duplicate')") == []
