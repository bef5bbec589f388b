"""What a process that is Postvakt's own sets for itself at start (postvakt/process.py): the
cycle collector settled once start-up is done.  Run in a fresh interpreter each: the test
process is not Postvakt's own, and its collector is left as it is."""

from __future__ import annotations

import json
import subprocess
import sys

SETTLE = """
import gc, json, logging
logging.basicConfig(level=logging.INFO, format="%(name)s %(message)s")
from postvakt.process import GC_YOUNG_OBJECTS, settle_garbage_collector

class Node:
    pass

before = gc.get_threshold()
kept = Node(); kept.me = kept                      # alive at start-up: set aside
frozen = settle_garbage_collector()
after = gc.get_threshold()
garbage = Node(); garbage.me = garbage             # made after: still collected
del garbage
print(json.dumps({
    "before": before, "after": after, "young": GC_YOUNG_OBJECTS, "frozen": frozen,
    "count": gc.get_freeze_count(), "kept_tracked": gc.is_tracked(kept),
    "kept_seen": any(o is kept for o in gc.get_objects()),
    "collected": gc.collect(),
}))
"""


def _settled() -> tuple[dict[str, object], str]:
    done = subprocess.run(
        [sys.executable, "-c", SETTLE], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout), done.stderr


def test_settling_sets_aside_what_lives_and_still_collects_new_cycles() -> None:
    found, log = _settled()
    assert found["before"][0] < found["young"]  # Python's own young threshold (700)
    assert found["after"] == [found["young"], *found["before"][1:]]
    assert found["frozen"] == found["count"] > 1_000  # the modules imported, at least
    # Set aside: still a live object the collector tracks, but no collection walks it.
    assert found["kept_tracked"] and not found["kept_seen"]
    assert found["collected"] >= 1  # the cycle made after settling
    assert "postvakt.process cycle collector settled:" in log
    assert f"a young collection every {found['young']} new objects" in log
