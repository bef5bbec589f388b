"""``postvakt classify`` and ``postvakt classifier evaluate|train``, run as a real process and
in-process through ``main``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from postvakt.cli import main
from tests.support.cli import DEMO_MESSAGES, postvakt
from tests.support.cli import no_config_from_environment as no_config_from_environment
from tests.support.cli import restore_logging as restore_logging
from tests.support.workspace import citizen_mail, make_workspace


def test_classify_json_needs_no_config(tmp_path: Path) -> None:
    out_of_office = DEMO_MESSAGES / "04-kontaktcenter-autosvar-faktura.eml"
    snow = DEMO_MESSAGES / "01-kontaktcenter-snorojning.eml"
    library = DEMO_MESSAGES / "02-kontaktcenter-bibliotekets-oppettider.eml"

    result = postvakt(
        "classify", "--json", str(out_of_office), str(snow), str(library), cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)
    assert [r["file"] for r in results] == [str(out_of_office), str(snow), str(library)]
    for r in results:
        assert r["label"] in ("complaint", "opinion", "other")
        assert 0.0 <= r["confidence"] <= 1.0
        assert isinstance(r["reasons"], list) and r["reasons"]
        assert all(isinstance(reason, str) for reason in r["reasons"])
    assert results[0]["label"] == "other"
    assert results[0]["screened"]
    assert "Auto-Submitted" in results[0]["reasons"][0]
    assert results[1]["label"] == "complaint"
    assert results[1]["screened"] is None
    assert results[2]["label"] == "opinion"
    assert not list(tmp_path.iterdir())  # no database, no files


def test_classify_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    question = DEMO_MESSAGES / "03-kontaktcenter-fraga-bygglov.eml"
    assert main(["classify", str(question)]) == 0
    assert capsys.readouterr().out.startswith(f"{question}: annat (0,")

    with pytest.raises(SystemExit) as info:  # checked as the arguments are read
        main(["classify", str(tmp_path / "finns-inte.eml")])
    assert info.value.code == 2
    assert "finns-inte.eml finns inte" in capsys.readouterr().err


def test_classify_with_a_config_screens_colleagues_and_reads_staff_forwards(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = make_workspace(tmp_path / "ws")
    colleague = tmp_path / "kollega.eml"
    colleague.write_bytes(
        citizen_mail("Kan vi flytta mötet?", subject="Mötet", sender="anna@testby.se")
    )
    forward = tmp_path / "vb.eml"
    forward.write_bytes(
        citizen_mail(
            "Kan ni registrera detta?\n\n---------- Vidarebefordrat meddelande ---------\n"
            "Från: Karin Ek <karin.ek@example.net>\nÄmne: Snöröjningen\n\n"
            "Jag vill klaga på snöröjningen. Ingen har plogat på en vecka.",
            subject="VB: Snöröjningen",
            sender="anna@testby.se",
        )
    )
    assert main(["--config", str(ws.config_path), "classify", str(colleague), str(forward)]) == 0
    first, second = capsys.readouterr().out.splitlines()
    assert first.startswith(f"{colleague}: annat (1,00) [sållat] — intern e-post")
    assert second.startswith(f"{forward}: klagomål (")
    assert "[vidarebefordrat av personal]" in second
    # Without the config nobody knows testby.se is the organisation's own domain.
    assert main(["classify", "--json", str(colleague)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["screened"] is None


def labelled_folder(folder: Path) -> Path:
    folder.mkdir()
    rows = ["file,label,anonymous"]
    for name, label in (
        ("01-kontaktcenter-snorojning.eml", "klagomål"),
        ("02-kontaktcenter-bibliotekets-oppettider.eml", "synpunkt"),
        ("03-kontaktcenter-fraga-bygglov.eml", "annat"),
        ("04-kontaktcenter-autosvar-faktura.eml", "annat"),
    ):
        shutil.copy(DEMO_MESSAGES / name, folder / name)
        rows.append(f"{name},{label},nej")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def test_classifier_evaluate_a_folder_prints_the_figures_in_swedish(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = labelled_folder(tmp_path / "egna")
    assert main(["classifier", "evaluate", str(folder)]) == 0
    text = capsys.readouterr().out
    assert f"Utvärdering av {folder} (4 meddelanden)" in text
    assert "makro-F1" in text and "Förväxlingsmatris" in text
    assert "sållade som maskinpost: 1" in text
    assert main(["classifier", "evaluate", "--json", str(folder)]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["n"] == 4 and figures["screened"] == 1
    assert sum(map(sum, figures["confusion"])) == 4
    assert main(["classifier", "evaluate", str(tmp_path / "saknas")]) == 2
    assert "ingen mapp" in capsys.readouterr().err


def test_classifier_train_adds_the_organisations_own_messages(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    labelled_folder(ws.root / "egna")
    with ws.config_path.open("a", encoding="utf-8") as f:
        f.write('\n[classifier]\ncorpus = "egna"\ncache_folder = "modell"\n')
    result = postvakt("--config", str(ws.config_path), "classifier", "train", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Klassificeraren är tränad på korpusen och de egna meddelandena i" in result.stdout
    (model,) = (ws.root / "modell").glob("klassificerare-*.npz")
    assert str(model) in result.stdout
    # The service uses that model: no training again, the same file.
    snow = DEMO_MESSAGES / "01-kontaktcenter-snorojning.eml"
    again = postvakt("--config", str(ws.config_path), "classify", str(snow), cwd=tmp_path)
    assert again.returncode == 0 and ": klagomål (" in again.stdout
    assert list((ws.root / "modell").glob("klassificerare-*.npz")) == [model]
