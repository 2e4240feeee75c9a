"""The memory-mapped BM25 vocabulary (rag.vocabulary): every token finds its column through
the hash table, collisions included, and damaged files are refused."""

from __future__ import annotations

import itertools
import random
import zlib
from pathlib import Path

import numpy as np
import pytest

from rag.vocabulary import TABLE, TOKENS, Vocabulary, build_table


def _tokens(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    han = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    out: dict[str, None] = {}
    while len(out) < n:
        out["".join(rng.choices(han, k=rng.randint(1, 4)))] = None
    return list(out)


def test_every_token_finds_its_column_and_others_none(tmp_path: Path) -> None:
    words = [*_tokens(20_000), "a", "2021", "软实力", "🙂"]
    Vocabulary.write(tmp_path, words)
    vocab = Vocabulary.read(tmp_path)
    assert len(vocab) == len(words)
    assert all(vocab.get(w) == i for i, w in enumerate(words))
    assert list(vocab.words()) == words == vocab.split()
    assert vocab.words()[-1] == "🙂" and vocab.words()[1:3] == words[1:3]
    with pytest.raises(IndexError):
        vocab.words()[len(words)]
    assert vocab.as_dict() == {w: i for i, w in enumerate(words)}
    for unknown in ("北京大学城", "", "b", "软实", "软实力 ", "\ud800"):
        assert vocab.get(unknown) is None
    # The table is at most half full, so probes are short; collisions happen and resolve.
    table = np.load(tmp_path / TABLE)
    assert len(table) >= 2 * len(words) and (len(table) & (len(table) - 1)) == 0
    home = [zlib.crc32(w.encode()) & (len(table) - 1) for w in words]
    assert len(set(home)) < len(words)


def test_joined_tokens_are_the_tokens_joined(tmp_path: Path) -> None:
    words = [*_tokens(500), "a", "2021", "🙂"]
    Vocabulary.write(tmp_path, words)
    tokens = Vocabulary.read(tmp_path).words()
    rng = random.Random(3)
    for _ in range(200):
        columns = [rng.randrange(len(words)) for _ in range(rng.randint(0, 12))]
        assert tokens.joined(columns) == " ".join(words[i] for i in columns)
    assert tokens.joined([-1, 0], "|") == f"{words[-1]}|{words[0]}"
    with pytest.raises(IndexError):
        tokens.joined([0, len(words)])


def test_a_passages_sentences_are_decoded_as_each_sentence_joined(tmp_path: Path) -> None:
    words = [*_tokens(500), "a", "2021", "🙂"]
    Vocabulary.write(tmp_path, words)
    tokens = Vocabulary.read(tmp_path).words()
    rng = random.Random(5)
    for _ in range(200):
        columns = [rng.randrange(len(words)) for _ in range(rng.randint(0, 30))]
        cuts = sorted(rng.randint(0, len(columns)) for _ in range(rng.randint(0, 5)))
        bounds = [0, *cuts, len(columns)]  # empty sentences included
        expected = [tokens.joined(columns[a:b]) for a, b in itertools.pairwise(bounds)]
        assert tokens.joined_runs(columns, bounds) == expected
    assert tokens.joined_runs([], [0]) == []  # a passage without sentences
    assert tokens.joined_runs([-1, 0], [0, 1, 2]) == [words[-1], words[0]]
    with pytest.raises(IndexError):
        tokens.joined_runs([0, len(words)], [0, 2])


def test_the_table_depends_only_on_the_tokens_and_their_order(tmp_path: Path) -> None:
    encoded = [w.encode() for w in _tokens(5000, seed=3)]
    np.testing.assert_array_equal(build_table(encoded), build_table(list(encoded)))
    # Linear probing: from each token's home slot to its own, no slot is empty.
    table = build_table(encoded)
    mask = len(table) - 1
    for column, data in enumerate(encoded):
        slot = zlib.crc32(data) & mask
        while table[slot] != column:
            assert table[slot] >= 0
            slot = (slot + 1) & mask


def test_an_empty_vocabulary(tmp_path: Path) -> None:
    Vocabulary.write(tmp_path, [])
    vocab = Vocabulary.read(tmp_path)
    assert len(vocab) == 0 and vocab.get("上海") is None and list(vocab.words()) == []


@pytest.mark.parametrize("words", [["上海", ""], ["上海", "城\n市"], ["上海", "上海"]])
def test_tokens_that_cannot_be_saved_are_refused(tmp_path: Path, words: list[str]) -> None:
    with pytest.raises(ValueError, match=r"empty|line break|repeats"):
        Vocabulary.write(tmp_path, words)


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: (d / TOKENS).write_text("上海\n城市", encoding="utf-8"),  # one token fewer
        lambda d: (d / TOKENS).write_text("上海\n\n城市\n北京", encoding="utf-8"),
        lambda d: (d / TOKENS).write_text("\n上海\n城市", encoding="utf-8"),  # empty first
        lambda d: (d / TOKENS).write_text("上海\n城市\n", encoding="utf-8"),  # empty last
        lambda d: (d / TOKENS).write_bytes(b"\xff\xfe\n\xff\n\xfe"),
        lambda d: np.save(d / TABLE, np.full(8, -1, dtype=np.int32)),
        lambda d: np.save(d / TABLE, np.arange(8, dtype=np.int32)),
        lambda d: np.save(d / TABLE, np.zeros(8, dtype=np.int64)),
    ],
)
def test_files_that_do_not_fit_are_refused(tmp_path: Path, damage: object) -> None:
    Vocabulary.write(tmp_path, ["上海", "城市", "软实力"])
    damage(tmp_path)  # type: ignore[operator]
    with pytest.raises(ValueError):
        Vocabulary.read(tmp_path)


def test_remembered_columns_are_the_same_and_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rag.vocabulary

    monkeypatch.setattr(rag.vocabulary, "MEMO_SIZE", 50)
    words = _tokens(500, seed=11)
    Vocabulary.write(tmp_path, words)
    vocab = Vocabulary.read(tmp_path)
    for _ in range(3):  # first through the table, then (partly) remembered
        assert [vocab.get(w) for w in words] == list(range(len(words)))
        assert [vocab.get(w + "x") for w in words[:100]] == [None] * 100
        assert len(vocab._memo) <= 50
