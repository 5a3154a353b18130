"""The rebuild's fold: chunks cut at commitment boundaries fold to the same rows as the whole."""

from __future__ import annotations

import json
import random
import uuid
from datetime import date, timedelta

from cobuild_evaluation.domain.ledger import Cancelled, Fulfilled, Opened
from cobuild_evaluation.store.ledger import fact_data
from cobuild_evaluation.usecases.ledger_rebuild import Entry, fold, split_whole


def _journal(n: int, seed: int = 3) -> list[Entry]:
    rnd = random.Random(seed)
    out: list[Entry] = []
    for _ in range(n):
        cid = str(uuid.UUID(int=rnd.getrandbits(128)))
        day = date(2026, 1, 1) + timedelta(days=rnd.randrange(100))
        fen = rnd.randrange(1, 10_000)
        ids = [str(uuid.UUID(int=rnd.getrandbits(128))) for _ in range(4)]
        opened = Opened(cid, *ids, deadline=day + timedelta(days=30), committed_fen=fen, day=day)
        facts: list[tuple[str, object]] = [("opened", opened)]
        if rnd.random() < 0.4:
            facts.append(("fulfilled", Fulfilled(day + timedelta(days=3), fen, fen, True)))
        if rnd.random() < 0.2:
            facts.append(("cancelled", Cancelled(day + timedelta(days=5))))
        out += [(cid, kind, json.dumps(fact_data(f))) for kind, f in facts]  # type: ignore[arg-type]
    out.sort(key=lambda e: e[0])  # commitment order; each commitment's facts keep theirs
    return out


def test_split_whole_never_cuts_a_commitment() -> None:
    entries = [("a", "opened", "{}"), ("b", "opened", "{}"), ("b", "fulfilled", "{}")]
    assert split_whole(entries, last=False) == (entries[:1], entries[1:])
    assert split_whole(entries, last=True) == (entries, [])
    assert split_whole(entries[1:], last=False) == ([], entries[1:])


def test_folding_chunk_by_chunk_equals_folding_the_whole_journal() -> None:
    journal = _journal(300)
    whole_states, whole_daily = fold(journal)
    states, daily, carry = [], [], []
    rnd = random.Random(5)
    i = 0
    while True:
        size = rnd.randrange(1, 40)
        chunk = journal[i : i + size]
        i += size
        done, carry = split_whole(carry + chunk, last=not chunk)
        s, d = fold(done)
        states += s
        daily += d
        if not chunk:
            break
    assert (states, daily) == (whole_states, whole_daily)
    assert len(whole_states) == 300


def test_a_fact_before_its_open_moves_nothing() -> None:
    done = json.dumps(fact_data(Fulfilled(date(2026, 3, 1), 5, 5, True)))
    assert fold([("c1", "fulfilled", done)]) == ([], [])
