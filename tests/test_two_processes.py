"""Two ``postvakt run --once`` processes at the same time on one database.

Each test starts real processes (``python -m postvakt``) over the same mailboxes on a real
Dovecot and counts what they left behind: every message exactly one record, nothing FAILED
that did not fail, every case once, every acknowledgment draft once in Drafts, both
processes exit 0 without a traceback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.exc import DBAPIError

from postvakt.clock import STOCKHOLM
from postvakt.registry.models import (
    Case,
    Disposition,
    Draft,
    DraftStatus,
    FailedMessage,
    MailboxLease,
    MessageRecord,
)
from postvakt.registry.models import Mailbox as MailboxRow
from tests.support.dovecot import MASTER_ENV, DovecotServer
from tests.support.workspace import citizen_mail, make_workspace

STREETS = ("Björkvägen", "Storgatan", "Ekbacken", "Lindallén", "Åkervägen", "Sjögatan")
COMPLAINTS = (
    "Hej!\n\nJag vill klaga på snöröjningen på {street}. Ingen har plogat på {n} dagar och "
    "det är inte acceptabelt.\n\n{name}\n070-{n:03d} 45 67\n",
    "Hej,\n\nJag är missnöjd med sophämtningen på {street}. Kärlet har inte tömts på {n} "
    "veckor trots att jag ringt.\n\nMvh {name}\n",
)
OPINIONS = (
    "Hej!\n\nJag har en synpunkt: biblioteket borde ha öppet längre på lördagar, "
    "gärna till klockan {n}. Det vore bra för många.\n\n{name}\n",
    "Hej! Jag har ett förslag: det vore bra med fler bänkar längs {street}, kanske {n} "
    "stycken.\n\n{name}\n",
)
QUESTION = "Hej, när har ni öppet på kommunhuset mellan jul och nyår? Fråga nr {n}.\n\n{name}\n"
NAMES = ("Karin Ek", "Per Lind", "Åsa Öberg", "Nils Ås", "Eva Strand", "Olof Berg")

CONFIG_HEAD = """\
[organisation]
name = "Testby kommun"
diary_prefix = "KS"
domains = ["testby.se"]

[database]
url = "{db_url}"

[[units]]
name = "Kontaktcenter"
head = "chef@testby.se"

[[people]]
name = "Anna Berg"
address = "anna@testby.se"
unit = "Kontaktcenter"
"""

CONFIG_MAILBOX = """
[[mailboxes]]
address = "{address}"
start_from = 2026-01-01  # the tests' mail is older than their clock
name = "Brevlåda {index}"
kind = "function"
unit = "Kontaktcenter"
owners = ["anna@testby.se"]
connector = "imap"

[mailboxes.imap]
host = "127.0.0.1"
port = {port}
security = "none"
username = "{user}"
master_user = "{master}"
password_env = "{env}"
"""


@dataclass
class Installation:
    config: Path
    users: list[str]
    delivered: dict[str, list[bytes]]
    """Per user, the messages put in its INBOX."""


def messages_for(index: int, count: int, shared: list[bytes]) -> list[bytes]:
    """``count`` citizen messages for mailbox ``index``: complaints, opinions and questions
    from different senders, plus ``shared`` (the same e-mail sent to every mailbox)."""
    out: list[bytes] = []
    start = datetime(2026, 11, 23, 8, 0, tzinfo=STOCKHOLM)
    for n in range(count):
        name = NAMES[n % len(NAMES)]
        values = {"street": STREETS[n % len(STREETS)], "n": n + 1, "name": name}
        kind = n % 5
        if kind in (0, 1):
            body, subject = COMPLAINTS[n % 2].format(**values), f"Klagomål {index}-{n}"
        elif kind in (2, 3):
            body, subject = OPINIONS[n % 2].format(**values), f"Synpunkt {index}-{n}"
        else:
            body, subject = QUESTION.format(**values), f"Fråga {index}-{n}"
        local = name.lower().replace(" ", ".").translate(str.maketrans("åäö", "aao"))
        out.append(
            citizen_mail(
                body,
                subject=subject,
                sender=f"{name} <{local}.{index}.{n}@example.net>",
                date=start + timedelta(minutes=n),
                message_id=f"<m{index}-{n}@example.net>",
            )
        )
    return out + shared


def make_installation(
    tmp_path: Path, dovecot: DovecotServer, db_url: str, mailboxes: int, per_mailbox: int
) -> Installation:
    users = [dovecot.add_user() for _ in range(mailboxes)]
    shared = [
        citizen_mail(
            COMPLAINTS[0].format(street=STREETS[i], n=i + 1, name="Gemensam Avsändare"),
            subject=f"Klagomål till alla {i}",
            sender=f"Gemensam Avsändare <gemensam{i}@example.net>",
            message_id=f"<alla-{i}@example.net>",
        )
        for i in range(5)
    ]
    delivered: dict[str, list[bytes]] = {}
    text = CONFIG_HEAD.format(db_url=db_url)
    for index, user in enumerate(users):
        delivered[user] = messages_for(index, per_mailbox, shared)
        client = dovecot.imap(user)
        try:
            for raw in delivered[user]:
                client.append("INBOX", raw)
        finally:
            client.logout()
        text += CONFIG_MAILBOX.format(
            address=dovecot.address(user),
            index=index + 1,
            port=dovecot.imap_port,
            user=user,
            master=dovecot.master_user,
            env=MASTER_ENV,
        )
    config = tmp_path / "postvakt.toml"
    config.write_text(text, encoding="utf-8")
    return Installation(config, users, delivered)


def start_run(install: Installation, dovecot: DovecotServer, tmp_path: Path, name: str):
    env = {**os.environ, MASTER_ENV: dovecot.master_password}
    env.pop("POSTVAKT_CONFIG", None)
    out = (tmp_path / f"{name}.out").open("wb")
    err = (tmp_path / f"{name}.err").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "postvakt", "--config", str(install.config), "run", "--once"],
        cwd=tmp_path,
        env=env,
        stdout=out,
        stderr=err,
    )
    out.close()
    err.close()
    return proc


@dataclass
class Counts:
    records: int
    duplicate_records: int
    failed_records: int
    failed_store: int
    cases: int
    case_records: int
    drafts_saved: int
    drafts_in_folders: int
    doubled_drafts: int
    missing_drafts: int


def counts(db_url: str, install: Installation, dovecot: DovecotServer) -> Counts:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            keys = conn.execute(
                select(MessageRecord.mailbox_id, MessageRecord.folder, MessageRecord.message_key)
            ).all()
            failed = conn.scalar(
                select(func.count())
                .select_from(MessageRecord)
                .where(MessageRecord.disposition == Disposition.FAILED)
            )
            store = conn.scalar(select(func.count()).select_from(FailedMessage))
            cases = conn.scalar(select(func.count()).select_from(Case))
            case_records = conn.scalar(
                select(func.count())
                .select_from(MessageRecord)
                .where(MessageRecord.disposition == Disposition.CASE)
            )
            draft_ids = set(
                conn.scalars(select(Draft.message_id).where(Draft.status == DraftStatus.SAVED))
            )
    finally:
        engine.dispose()
    seen = Counter(
        str(head["Message-ID"]).strip("<>")
        for user in install.users
        for head in dovecot.headers_in(user)
    )
    return Counts(
        records=len(keys),
        duplicate_records=len(keys) - len(set(keys)),
        failed_records=failed,
        failed_store=store,
        cases=cases,
        case_records=case_records,
        drafts_saved=len(draft_ids),
        drafts_in_folders=sum(seen.values()),
        doubled_drafts=sum(n - 1 for n in seen.values() if n > 1),
        missing_drafts=len(draft_ids - set(seen)),
    )


def run_two(install: Installation, dovecot: DovecotServer, tmp_path: Path) -> list[tuple[int, str]]:
    procs = [start_run(install, dovecot, tmp_path, name) for name in ("a", "b")]
    deadline = time.monotonic() + 600
    results = []
    for name, proc in zip(("a", "b"), procs, strict=True):
        try:
            code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail(f"process {name} did not finish within 600 s")
        stderr = (tmp_path / f"{name}.err").read_text(errors="replace")
        results.append((code, stderr))
    return results


def reset_drafts(db_url: str, install: Installation, dovecot: DovecotServer) -> int:
    """Empty every Drafts folder and mark every draft pending again: the next passes must
    place each draft once more (as after a crash between append and commit, or a new
    Drafts folder)."""
    for user in install.users:
        client = dovecot.imap(user)
        try:
            client.select_folder("Drafts")
            uids = client.search(["ALL"])
            if uids:
                client.delete_messages(uids)
                client.expunge()
        finally:
            client.logout()
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            return conn.execute(
                update(Draft).values(status=DraftStatus.PENDING, location=None, saved_at=None)
            ).rowcount
    finally:
        engine.dispose()


def check_two_runs(
    db_url: str, install: Installation, dovecot: DovecotServer, tmp_path: Path
) -> None:
    results = run_two(install, dovecot, tmp_path)
    found = counts(db_url, install, dovecot)
    print("two processes:", found)
    for code, stderr in results:
        assert "Traceback" not in stderr, stderr
        assert code == 0, stderr
    expected = sum(len(v) for v in install.delivered.values())
    assert found.records == expected, found
    assert found.duplicate_records == 0, found
    assert found.failed_records == 0 and found.failed_store == 0, found
    assert found.cases == found.case_records > 0, found
    assert found.doubled_drafts == 0 and found.missing_drafts == 0, found
    assert found.drafts_in_folders == found.drafts_saved == found.cases, found

    # The same drafts pending again (their Drafts folders emptied): two processes at once
    # place each of them once.
    assert reset_drafts(db_url, install, dovecot) == found.cases
    results = run_two(install, dovecot, tmp_path)
    again = counts(db_url, install, dovecot)
    print("two processes, drafts pending again:", again)
    for code, stderr in results:
        assert "Traceback" not in stderr, stderr
        assert code == 0, stderr
    assert again.doubled_drafts == 0 and again.missing_drafts == 0, again
    assert again.drafts_in_folders == again.drafts_saved == found.cases, again
    assert (again.records, again.cases, again.failed_records) == (
        found.records,
        found.cases,
        0,
    ), again


@pytest.mark.postgres
def test_two_processes_on_postgres_share_the_work(
    tmp_path: Path, dovecot: DovecotServer, postgres_url: str
) -> None:
    install = make_installation(tmp_path, dovecot, postgres_url, mailboxes=3, per_mailbox=100)
    check_two_runs(postgres_url, install, dovecot, tmp_path)


def test_two_processes_on_sqlite_share_the_work(tmp_path: Path, dovecot: DovecotServer) -> None:
    url = f"sqlite:///{tmp_path / 'postvakt.db'}"
    install = make_installation(tmp_path, dovecot, url, mailboxes=3, per_mailbox=60)
    check_two_runs(url, install, dovecot, tmp_path)


def test_the_lease_of_a_killed_run_is_taken_over(db_url: str, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws", db_url)
    with workspace.config_path.open("a", encoding="utf-8") as config:
        # Batches of 10 so that the kill lands mid-pass: the default 100 commit most of
        # the 120 messages at once, and a fast pass may end before the test sees a record.
        config.write("\n[service]\nbatch_size = 10\n")
    delivered = messages_for(0, 120, [])
    for n, raw in enumerate(delivered):
        workspace.deliver(raw, name=f"k{n:03d}")
    env = {k: v for k, v in os.environ.items() if k != "POSTVAKT_CONFIG"}
    command = [sys.executable, "-m", "postvakt", "--config", str(workspace.config_path)]
    proc = subprocess.Popen(
        [*command, "run", "--once"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    engine = create_engine(db_url)
    try:
        deadline = time.monotonic() + 120
        recorded = 0
        while recorded < 10:  # mid-pass: some messages recorded, most not yet
            assert proc.poll() is None, "the pass ended before it could be killed"
            assert time.monotonic() < deadline, "no message recorded within 120 s"
            time.sleep(0.05)
            try:
                with engine.connect() as conn:
                    recorded = conn.scalar(select(func.count()).select_from(MessageRecord))
            except DBAPIError:  # the tables are not there yet
                continue
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with engine.connect() as conn:
            holders = conn.scalars(select(MailboxLease.holder)).all()
            before = conn.scalar(select(func.count()).select_from(MessageRecord))
        assert [h.split(":")[1] for h in holders] == [str(proc.pid)]
        assert 10 <= before < len(delivered)

        # At once, not after the lease time: its process is gone from this host.
        result = subprocess.run(
            [*command, "run", "--once"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr and "Hoppade över" not in result.stdout
        with engine.connect() as conn:
            keys = conn.scalars(select(MessageRecord.message_key)).all()
            failed = conn.scalar(
                select(func.count())
                .select_from(MessageRecord)
                .where(MessageRecord.disposition == Disposition.FAILED)
            )
            cases = conn.scalar(select(func.count()).select_from(Case))
            leases = conn.scalar(select(func.count()).select_from(MailboxLease))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        engine.dispose()
    assert sorted(keys) == sorted(f"k{n:03d}" for n in range(len(delivered)))
    assert failed == 0 and leases == 0
    assert len(workspace.drafts("kontakt")) == cases > 0


# ------------------------------------------------------- the same message in two processes


def test_a_message_another_process_recorded_meanwhile_is_a_duplicate_not_a_failure(
    db_url: str, tmp_path: Path, clock
) -> None:
    """Two processes with the same message in hand (one's lease ran out while it worked):
    the second finds the first's record when it commits, and nothing is marked FAILED."""
    from postvakt.service import Service

    workspace = make_workspace(tmp_path / "ws", db_url)
    workspace.deliver(messages_for(0, 1, [])[0], name="k1")
    with (
        Service(workspace.config, clock=clock).open() as first,
        Service(workspace.config, clock=clock).open() as second,
    ):
        assert first.intake is not None and second.intake is not None
        assert first.sessions is not None and second.sessions is not None
        connector = first.connectors["kontakt@testby.se"]
        (fetched,) = connector.fetch_new("INBOX", None, lambda _key: False)
        with first.sessions() as session:
            box = session.scalars(
                select(MailboxRow.id).where(MailboxRow.address == connector.address)
            ).one()
            session.rollback()
            done = first.intake.process(session, box, fetched)
        with second.sessions() as session:
            again = second.intake.process(session, box, fetched)
        assert done.disposition is Disposition.CASE
        assert again.disposition is Disposition.DUPLICATE
        assert "annan Postvakt-process" in again.reason
        with first.sessions() as session:
            rows = session.scalars(select(MessageRecord)).all()
            assert [(r.message_key, r.disposition) for r in rows] == [("k1", Disposition.CASE)]
            assert session.scalars(select(FailedMessage)).all() == []
            assert session.scalar(select(func.count()).select_from(Case)) == 1


@pytest.mark.postgres
def test_a_deadlock_is_a_conflict_to_run_again(postgres_url: str) -> None:
    """A real deadlock between two transactions is recognised as one worth running again;
    a database that is simply unusable is not."""
    from postvakt.errors import DatabaseError
    from postvakt.registry.db import database_errors, is_conflict

    engine = create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (id int primary key, v int)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1, 0), (2, 0)")
        barrier = threading.Barrier(2)
        caught: list[BaseException] = []
        bump = text("UPDATE t SET v = v + 1 WHERE id = :id")

        def work(first: int, second: int) -> None:
            try:
                with database_errors(), engine.begin() as conn:
                    conn.execute(bump, {"id": first})
                    barrier.wait()
                    conn.execute(bump, {"id": second})
            except DatabaseError as exc:
                caught.append(exc)

        threads = [threading.Thread(target=work, args=a) for a in ((1, 2), (2, 1))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(caught) == 1 and is_conflict(caught[0])
    finally:
        engine.dispose()
    gone = create_engine(postgres_url.rsplit("/", 1)[0] + "/no_such_database")
    try:
        with pytest.raises(DatabaseError) as unusable, database_errors(), gone.connect():
            pass
        assert not is_conflict(unusable.value)
    finally:
        gone.dispose()
