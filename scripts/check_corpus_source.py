"""Check a new hand-written corpus source before it joins the corpus.

    .venv/bin/python scripts/check_corpus_source.py src/postvakt/classifier/corpus/NAME NAME

Prints the counts per label and category, channels and folds, and every problem (a missing
field, a category that does not belong to its label, a duplicate id, a record that does not
parse as mail).  Exit status 1 when there is a problem.  The brief the authors write to is
src/postvakt/classifier/corpus/BRIEF.md.
"""

import collections
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from postvakt.classifier.corpus import to_message

folder, name = Path(sys.argv[1]), sys.argv[2]
CATS = {
    "complaint": {
        "complaint-question",
        "complaint-request",
        "complaint-understatement",
        "complaint-in-thread",
        "complaint-english",
        "complaint-simple",
    },
    "opinion": {"opinion-sharp", "opinion-proposal", "opinion-praise"},
    "other": {
        "other-complaint-words",
        "other-question",
        "other-booking-application",
        "other-business",
        "plain",
    },
}
FIELDS = [
    "id",
    "source",
    "fold",
    "label",
    "category",
    "individual_care",
    "lang",
    "service",
    "tone",
    "channel",
    "anonymous",
    "followup",
    "personal_data",
    "from",
    "to",
    "subject",
    "body",
    "headers",
    "forwarded",
]
CHANNELS = {"email", "webform", "reply", "forward-inline", "forward-attached"}
ids = set()
cats = collections.Counter()
problems = []
n = 0
care = 0
en = 0
ch = collections.Counter()
folds = collections.Counter()
for path in sorted(folder.glob("*.jsonl")):
    for i, line in enumerate(path.open(encoding="utf-8"), 1):
        if not line.strip():
            continue
        where = f"{path.name}:{i}"
        try:
            r = json.loads(line)
        except Exception as e:
            problems.append(f"{where}: not JSON: {e}")
            continue
        if not isinstance(r, dict):
            problems.append(f"{where}: not a JSON object")
            continue
        n += 1
        missing = [f for f in FIELDS if f not in r]
        if missing:
            problems.append(f"{where}: missing {missing}")
        if r.get("source") != name:
            problems.append(f"{where}: source must be {name!r}")
        if not str(r.get("id", "")).startswith(name + "-"):
            problems.append(f"{where}: id must be {name}-NNNN")
        if r.get("id") in ids:
            problems.append(f"{where}: duplicate id {r.get('id')}")
        ids.add(r.get("id"))
        if r.get("label") not in CATS or r.get("category") not in CATS.get(r.get("label"), ()):
            problems.append(
                f"{where}: label/category {r.get('label')}/{r.get('category')} not allowed"
            )
        if r.get("fold") not in (0, 1, 2, 3, 4):
            problems.append(f"{where}: fold must be 0-4")
        if r.get("channel") not in CHANNELS:
            problems.append(f"{where}: channel {r.get('channel')}")
        if r.get("lang") not in ("sv", "en"):
            problems.append(f"{where}: lang sv or en")
        if r.get("channel") == "forward-attached" and not isinstance(r.get("forwarded"), dict):
            problems.append(f"{where}: forward-attached needs a forwarded record")
        if r.get("channel") == "reply" and not (r.get("headers") or {}).get("In-Reply-To"):
            problems.append(f"{where}: reply needs headers.In-Reply-To")
        try:
            m = to_message(r)
            assert m.subject is not None
        except Exception as e:
            problems.append(f"{where}: does not parse as mail: {e}")
        cats[(r.get("label"), r.get("category"))] += 1
        care += bool(r.get("individual_care"))
        en += r.get("lang") == "en"
        ch[r.get("channel")] += 1
        folds[r.get("fold")] += 1
print(f"{n} messages; individual_care {care}; English {en}")
for k, v in sorted(cats.items()):
    print("  ", k, v)
print("  channels", dict(ch))
print("  folds", dict(folds))
if n == 0:
    problems.append(f"{folder}: no messages (is the folder right?)")
print("PROBLEMS:" if problems else "no problems")
for p in problems[:50]:
    print("  ", p)
if len(problems) > 50:
    print(f"   … and {len(problems) - 50} more")
sys.exit(1 if problems else 0)
