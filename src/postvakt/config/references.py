"""Checks between tables (units, people, mailboxes referring to each other), on the raw data."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from postvakt.errors import ConfigProblem

__all__ = ["reference_problems"]


def reference_problems(data: Mapping[str, Any]) -> list[ConfigProblem]:
    """Problems between tables: unknown units, cycles, duplicates, function mailboxes without
    owners.  Works on the raw TOML data so that it runs even when fields have errors: one
    typo must not hide the rest.
    """

    def tables(name: str) -> list[tuple[int, Mapping[str, Any]]]:
        value = data.get(name, [])
        return (
            [(i, t) for i, t in enumerate(value) if isinstance(t, Mapping)]
            if isinstance(value, list)
            else []
        )

    def text(table: Mapping[str, Any], key: str) -> str | None:
        value = table.get(key)
        return value.strip() if isinstance(value, str) else None

    units, people, mailboxes = tables("units"), tables("people"), tables("mailboxes")
    problems: list[ConfigProblem] = []
    _duplicates(problems, "units", [(i, text(u, "name")) for i, u in units], "name")
    _duplicates(
        problems,
        "people",
        [(i, (text(p, "address") or "").lower() or None) for i, p in people],
        "address",
    )
    _duplicates(
        problems,
        "mailboxes",
        [(i, (text(m, "address") or "").lower() or None) for i, m in mailboxes],
        "address",
    )
    known = {name for _, u in units if (name := text(u, "name"))}
    for table, rows in (("units", units), ("people", people), ("mailboxes", mailboxes)):
        key = "parent" if table == "units" else "unit"
        for i, row in rows:
            name = text(row, key)
            if name is not None and name not in known:
                problems.append(_unknown_unit(f"{table}[{i}].{key}", name, known))
    for i, mailbox in mailboxes:
        if mailbox.get("kind") == "function" and not mailbox.get("owners"):
            problems.append(
                ConfigProblem(
                    f"mailboxes[{i}].owners",
                    "en funktionsbrevlåda måste ha minst en ansvarig (owners) som öppnar den "
                    "varje arbetsdag",
                )
            )
    addresses = {a.lower() for _, p in people if (a := text(p, "address"))}
    for i, mailbox in mailboxes:
        owners = mailbox.get("owners")
        for j, owner in enumerate(owners if isinstance(owners, list) else []):
            # Presence, absence and the daily check work on people: an owner outside
            # [[people]] would never be found away, nor covered, nor told by name.
            if isinstance(owner, str) and "@" in owner and owner.strip().lower() not in addresses:
                problems.append(
                    ConfigProblem(
                        f"mailboxes[{i}].owners[{j}]",
                        f"{owner.strip()!r} finns inte bland [[people]]: en ansvarig måste vara en "
                        "person i konfigurationen; lägg till en [[people]] med den adressen eller "
                        "rätta stavningen",
                    )
                )
    for i, person in people:
        delegates = person.get("standing_delegates")
        for j, delegate in enumerate(delegates if isinstance(delegates, list) else []):
            if not isinstance(delegate, str):
                continue
            if delegate.strip().lower() == (text(person, "address") or "").lower():
                message = "ingen kan vara sitt eget stående ombud"
            elif delegate.strip().lower() in addresses:
                continue
            else:
                message = (
                    f"{delegate!r} finns inte bland [[people]]: ett stående ombud måste vara "
                    "en person i konfigurationen"
                )
            problems.append(ConfigProblem(f"people[{i}].standing_delegates[{j}]", message))
    organisation = data.get("organisation")
    if (
        isinstance(organisation, Mapping)
        and organisation.get("care_deviation")
        and not isinstance(data.get("smtp"), Mapping)
    ):
        # Without a mail server care complaints would wait for ever, unseen by the function.
        problems.append(
            ConfigProblem(
                "organisation.care_deviation",
                "klagomål som rör enskilds vård och omsorg skickas med e-post till "
                "avvikelsefunktionen, men [smtp] saknas; ange smtp.host och smtp.from_address",
            )
        )
    owner_of_area: dict[str, str] = {}
    for i, unit in units:
        areas = unit.get("areas")
        for j, area in enumerate(areas if isinstance(areas, list) else []):
            if not isinstance(area, str):
                continue
            key, name = " ".join(area.split()).lower(), text(unit, "name") or f"units[{i}]"
            if owner_of_area.setdefault(key, name) != name:
                # A case of the area must go to one unit, never to whichever is listed first.
                problems.append(
                    ConfigProblem(
                        f"units[{i}].areas[{j}]",
                        f"verksamhetsområdet {area.strip()!r} hör redan till enheten "
                        f"{owner_of_area[key]!r}; ett område kan bara höra till en enhet",
                    )
                )
    parents = {text(u, "name"): text(u, "parent") for _, u in units}
    for i, unit in units:
        seen = {text(unit, "name")}
        current = text(unit, "parent")
        while current is not None and current in parents:
            if current in seen:
                problems.append(
                    ConfigProblem(
                        f"units[{i}].parent",
                        f"enheten {text(unit, 'name')!r} ligger under sig själv (cirkel)",
                    )
                )
                break
            seen.add(current)
            current = parents[current]
    return problems


def _duplicates(
    problems: list[ConfigProblem], table: str, values: list[tuple[int, str | None]], key: str
) -> None:
    seen: dict[str, int] = {}
    for i, value in values:
        if value is None:
            continue
        if value in seen:
            problems.append(
                ConfigProblem(
                    f"{table}[{i}].{key}", f"{value!r} finns redan i {table}[{seen[value]}]"
                )
            )
        else:
            seen[value] = i


def _unknown_unit(key: str, name: str, known: set[str]) -> ConfigProblem:
    hint = difflib.get_close_matches(name, sorted(known), n=1)
    suggestion = f" — menade du {hint[0]!r}?" if hint else ""
    listed = ", ".join(sorted(known)) or "(inga enheter är angivna under [[units]])"
    return ConfigProblem(key, f"okänd enhet {name!r}{suggestion} Kända enheter: {listed}")


# ------------------------------------------------------------------------------ loading
