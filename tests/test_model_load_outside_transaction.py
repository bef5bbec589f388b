"""The model is loaded (on a cold cache: trained, for seconds) before a message's transaction,
never inside it: on SQLite every transaction takes the write lock, and holding it while
training locked every other Postvakt process out ("database is locked")."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from postvakt.classifier.model import Classifier
from postvakt.clock import STOCKHOLM
from postvakt.intake import load_classifier
from postvakt.registry.models import Disposition
from postvakt.service import Service
from tests.support.workspace import citizen_mail, make_workspace

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=STOCKHOLM)


def test_another_process_can_write_while_the_model_loads(tmp_path: Path):
    ws = make_workspace(tmp_path / "ws")  # SQLite
    ws.deliver(citizen_mail("Ingen har plogat på Björkvägen på fyra dagar. Det är farligt."))
    database = Path(ws.config.database_url.removeprefix("sqlite:///"))
    could_write: list[bool] = []

    def loading() -> Classifier:
        # Another process wants the write lock while this one loads its model.
        other = sqlite3.connect(database, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            could_write.append(True)
        except sqlite3.OperationalError:
            could_write.append(False)
        finally:
            other.close()
        return load_classifier(ws.config)

    with Service(ws.config, clock=lambda: MONDAY).open() as service:
        assert service.intake is not None
        service.intake.reload_classifier(loading)
        report = service.run_once()
    assert report.count(Disposition.CASE) == 1
    assert could_write == [True]
