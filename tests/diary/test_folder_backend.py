"""The file backend: a folder per case with a JSON card and a folder per document."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from postvakt.clock import STOCKHOLM
from postvakt.diary.base import (
    Attachment,
    CaseFacts,
    DiaryDocument,
    DiaryUnavailable,
    DocumentKind,
)
from postvakt.diary.folder import FolderDiary, safe_name

EML = Path(__file__).parents[1] / "data" / "eml"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def snow_case(**changes: object) -> CaseFacts:
    case = CaseFacts(
        case_id=17,
        reference="KS 2026/17",
        diary_number=None,
        kind="complaint",
        heading="Klagomål på snöröjningen på Björkvägen",
        summary="Klagomål på snöröjningen",
        anonymous=False,
        individual_care=False,
        received_at=datetime(2026, 11, 23, 6, 41, tzinfo=UTC),  # 07:41 in Stockholm
        registered_at=datetime(2026, 11, 23, 9, 0, tzinfo=STOCKHOLM),
        status="registered",
        sender_name="Göran Sjöberg",
        sender_address="goran.sjoberg@telia.com",
        unit="Gatuavdelningen",
        handler="anna.berg",
    )
    return replace(case, **changes)  # type: ignore[arg-type]


def incoming(case: CaseFacts) -> DiaryDocument:
    return DiaryDocument(
        key=f"case-{case.case_id}/incoming/1",
        kind=DocumentKind.INCOMING,
        title=f"Inkommande synpunkt/klagomål – {case.label}",
        date=case.received_at,
        text="Klagomål via e-post till kontaktcenter@testby.se.",
        case=case,
        attachments=(
            Attachment(
                "Originalmeddelande.eml",
                "message/rfc822",
                (EML / "01_utf8_8bit_snorojning.eml").read_bytes(),
            ),
        ),
    )


def acknowledgement(case: CaseFacts) -> DiaryDocument:
    return DiaryDocument(
        key=f"case-{case.case_id}/acknowledgement/2",
        kind=DocumentKind.ACKNOWLEDGEMENT,
        title=f"Mottagningsbekräftelse – {case.label}",
        # 23:30 UTC on the 23rd is the 24th in Stockholm: the folder is named by Swedish time.
        date=datetime(2026, 11, 23, 23, 30, tzinfo=UTC),
        text="Skickad av Anna Berg.",
        case=case,
        attachments=(
            Attachment("Mottagningsbekräftelse KS 2026-17.docx", DOCX, b"PK\x03\x04 ord"),
        ),
    )


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root``: contents and modification time (ns)."""
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file()
    }


def test_a_folder_per_case_with_the_card_and_a_folder_per_document(tmp_path: Path) -> None:
    root = tmp_path / "diarium"
    diary = FolderDiary(root)
    case = snow_case()

    first = diary.deliver(incoming(case), {})
    second = diary.deliver(acknowledgement(case), {})

    assert first.external_id == "KS 2026-17/2026-11-23 01 Inkommande synpunkt-klagomål"
    assert second.external_id == "KS 2026-17/2026-11-24 02 Mottagningsbekräftelse"
    assert sorted(snapshot(root)) == [
        "KS 2026-17/2026-11-23 01 Inkommande synpunkt-klagomål/Originalmeddelande.eml",
        "KS 2026-17/2026-11-23 01 Inkommande synpunkt-klagomål/dokument.json",
        "KS 2026-17/2026-11-24 02 Mottagningsbekräftelse/Mottagningsbekräftelse KS 2026-17.docx",
        "KS 2026-17/2026-11-24 02 Mottagningsbekräftelse/dokument.json",
        "KS 2026-17/ärende.json",
    ]
    card = json.loads((root / "KS 2026-17" / "ärende.json").read_text(encoding="utf-8"))
    assert card == {
        "reference": "KS 2026/17",
        "diary_number": None,
        "kind": "complaint",
        "heading": "Klagomål på snöröjningen på Björkvägen",
        "summary": "Klagomål på snöröjningen",
        "anonymous": False,
        "individual_care": False,
        "received_at": "2026-11-23T07:41:00+01:00",
        "registered_at": "2026-11-23T09:00:00+01:00",
        "status": "registered",
        "unit": "Gatuavdelningen",
        "handler": "anna.berg",
        "channel": "email",
        "sender_name": "Göran Sjöberg",
        "sender_address": "goran.sjoberg@telia.com",
    }
    folder = root / first.external_id
    written = json.loads((folder / "dokument.json").read_text(encoding="utf-8"))
    assert written["key"] == "case-17/incoming/1" and written["kind"] == "incoming"
    assert written["title"] == "Inkommande synpunkt/klagomål – KS 2026/17"
    assert written["date"] == "2026-11-23T07:41:00+01:00"
    assert written["text"] == "Klagomål via e-post till kontaktcenter@testby.se."
    assert written["attachments"] == ["Originalmeddelande.eml"]
    assert (folder / "Originalmeddelande.eml").read_bytes() == (
        EML / "01_utf8_8bit_snorojning.eml"
    ).read_bytes()
    # No temporary file or folder is left behind.
    assert not [p for p in root.rglob(".*")]


def test_the_diary_number_known_later_goes_in_the_card_of_the_same_folder(
    tmp_path: Path,
) -> None:
    diary = FolderDiary(tmp_path)
    case = snow_case(reference="PV-2026-000123")
    diary.deliver(incoming(case), {})

    numbered = replace(case, diary_number="KS 2026/45", status="answered")
    delivered = diary.deliver(acknowledgement(numbered), {})

    assert [p.name for p in tmp_path.iterdir()] == ["PV-2026-000123"]
    assert delivered.external_id == "PV-2026-000123/2026-11-24 02 Mottagningsbekräftelse"
    card = json.loads((tmp_path / "PV-2026-000123" / "ärende.json").read_text("utf-8"))
    assert card["diary_number"] == "KS 2026/45" and card["reference"] == "PV-2026-000123"
    assert card["status"] == "answered"


def test_an_anonymous_card_has_no_sender(tmp_path: Path) -> None:
    case = snow_case(anonymous=True, sender_name=None, sender_address=None)
    FolderDiary(tmp_path).deliver(incoming(case), {})

    card = json.loads((tmp_path / "KS 2026-17" / "ärende.json").read_text("utf-8"))
    assert card["anonymous"] is True
    assert "sender_name" not in card and "sender_address" not in card


def test_the_same_key_twice_writes_nothing_new(tmp_path: Path) -> None:
    diary = FolderDiary(tmp_path)
    case = snow_case()
    first = diary.deliver(incoming(case), {})
    diary.deliver(acknowledgement(case), {})
    before = snapshot(tmp_path)

    again = diary.deliver(incoming(case), {})
    # A new FolderDiary (another run of the service) finds it too.
    other_run = FolderDiary(tmp_path).deliver(acknowledgement(case), {})

    assert again == first
    assert other_run.external_id == "KS 2026-17/2026-11-24 02 Mottagningsbekräftelse"
    assert snapshot(tmp_path) == before


def test_a_folder_a_person_made_or_a_crash_left_is_not_a_document(tmp_path: Path) -> None:
    diary = FolderDiary(tmp_path)
    case = snow_case()
    diary.deliver(incoming(case), {})
    (tmp_path / "KS 2026-17" / "2026-11-24 05 Anteckningar").mkdir()  # a person's
    (tmp_path / "KS 2026-17" / ".ny-99999-02").mkdir()  # a crash's, half written
    (tmp_path / "KS 2026-17" / ".ny-99999-02" / "dokument.json").write_text(
        json.dumps({"key": acknowledgement(case).key})
    )

    delivered = diary.deliver(acknowledgement(case), {})

    # Not found in the crash's folder, and numbered after the person's: nothing overwritten.
    assert delivered.external_id == "KS 2026-17/2026-11-24 06 Mottagningsbekräftelse"
    assert list((tmp_path / "KS 2026-17" / "2026-11-24 05 Anteckningar").iterdir()) == []


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("KS 2026/17", "KS 2026-17"),
        ("KS 2026/17\x00", "KS 2026-17"),
        ("../../etc", "etc"),
        ("..", "namnlös"),
        ("a\\..\\b", "a-.-b"),
        ("Svar\r\nBcc: x@y.se.docx", "SvarBcc- x@y.se.docx"),
        ('bild<1>:"?*|.jpg', "bild-1------.jpg"),
        ("CON.txt", "_CON.txt"),
        ("  .dold ", "dold"),
    ],
)
def test_names_are_made_safe(name: str, safe: str) -> None:
    assert safe_name(name) == safe


def test_a_long_name_is_cut_keeping_its_suffix() -> None:
    name = safe_name("Överklagande " + "å" * 200 + ".docx")
    assert len(name.encode()) <= 120 and name.endswith("å.docx")
    assert name.startswith("Överklagande åå")


def test_hostile_names_stay_inside_the_folder(tmp_path: Path) -> None:
    root = tmp_path / "diarium"
    root.mkdir()
    case = snow_case(reference="../../etc")
    document = replace(
        incoming(case),
        attachments=(
            Attachment("../../passwd", "text/plain", b"x"),
            Attachment("dokument.json", "application/json", b"{}"),
            Attachment("..", "text/plain", b"y"),
        ),
    )

    delivered = FolderDiary(root).deliver(document, {})

    assert delivered.external_id == "etc/2026-11-23 01 Inkommande synpunkt-klagomål"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["diarium"]
    folder = root / delivered.external_id
    written = json.loads((folder / "dokument.json").read_text("utf-8"))
    assert written["key"] == document.key  # not overwritten by the attachment of that name
    assert written["attachments"] == ["passwd", "dokument (2).json", "bilaga"]
    assert (folder / "dokument (2).json").read_bytes() == b"{}"
    assert (folder / "passwd").read_bytes() == b"x" and (folder / "bilaga").read_bytes() == b"y"
    for path in root.rglob("*"):
        assert path.resolve().is_relative_to(root.resolve())

    # A reference with a NUL in it lands in the same folder as without.
    nul = FolderDiary(root).deliver(incoming(snow_case(reference="KS 2026/17\x00")), {})
    assert nul.external_id.startswith("KS 2026-17/")


@contextmanager
def as_nobody() -> Iterator[None]:
    """Run as an ordinary user: root writes into a folder whatever its mode says."""
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(pwd.getpwnam("nobody").pw_uid)
    try:
        yield
    finally:
        os.seteuid(0)


def test_an_unwritable_folder_is_diary_unavailable() -> None:
    # Not under tmp_path: pytest's folders are 0700, which an ordinary user cannot reach.
    base = Path(tempfile.mkdtemp(prefix="postvakt-diarium-"))
    try:
        base.chmod(0o755)
        root = base / "diarium"
        root.mkdir()
        root.chmod(0o500)
        with as_nobody(), pytest.raises(DiaryUnavailable) as raised:
            FolderDiary(root).deliver(incoming(snow_case()), {})
        assert str(raised.value) == (
            f"Kan inte skriva i {root}: Permission denied — kontrollera behörigheten på "
            "mappen (registry.folder)."
        )
        assert isinstance(raised.value.__cause__, PermissionError)
        assert list(root.iterdir()) == []

        # A case folder that became read-only: named, not registry.folder.
        root.chmod(0o755)
        FolderDiary(root).deliver(incoming(snow_case()), {})
        (root / "KS 2026-17").chmod(0o500)
        with as_nobody(), pytest.raises(DiaryUnavailable) as raised:
            FolderDiary(root).deliver(incoming(snow_case(status="answered")), {})
        assert str(raised.value).startswith(f"Kan inte skriva i {root / 'KS 2026-17'}: ")
    finally:
        for path in (base, *base.rglob("*")):
            path.chmod(0o700)
        shutil.rmtree(base)


def test_a_missing_parent_is_diary_unavailable_not_a_new_folder(tmp_path: Path) -> None:
    root = tmp_path / "utdelning" / "diarium"  # e.g. a share that is not mounted

    with pytest.raises(DiaryUnavailable) as raised:
        FolderDiary(root).deliver(incoming(snow_case()), {})

    assert str(raised.value) == (
        f"Kan inte skriva i {root}: No such file or directory — mappen finns inte — skapa "
        "den eller rätta registry.folder."
    )
    assert not (tmp_path / "utdelning").exists()


def test_a_file_where_the_folder_should_be_is_diary_unavailable(tmp_path: Path) -> None:
    root = tmp_path / "diarium"
    root.write_text("inte en mapp")

    with pytest.raises(DiaryUnavailable, match=r"^Kan inte skriva i .*diarium"):
        FolderDiary(root).deliver(incoming(snow_case()), {})
    assert root.read_text() == "inte en mapp"
