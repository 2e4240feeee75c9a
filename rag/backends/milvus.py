"""The Milvus backend: one collection per generation, an alias that names the serving one.

What goes into Milvus, per passage (primary key = the passage's row):

* ``sparse``: its BM25 weights as a sparse vector, exactly the column values of the local
  score matrix (:meth:`rag.lexical.LexicalIndex.passage_weights`); a question is sent as
  the sparse vector of its distinct known token ids with weight 1, so Milvus's inner
  product *is* the local BM25 score (tokenization stays ours: Milvus's analyzers cut
  Chinese differently and would need the recall measurements redone);
* ``dense`` (when the generation has vectors): the very vectors of the FAISS index;
* the passage record: id, document id, title, text, and the rest (section, paragraphs,
  spans, sentence spans) as JSON, so a passage is fetched by id.

Fusion stays client-side (``rag.retrieval``, the weighted sum of min-max normalised scores):
Milvus's own ``WeightedRanker`` normalises inner-product scores with an arctan, which is
not the min-max fusion measured for this project, so its rankings would differ.

What stays local, in the index directory: the manifest, the tokenizer's dictionary and
terms, the document texts every quote is verified against, and answer selection's inputs
(sentence tokens, IDF). Collections are named ``<alias>_<build id>``; the build writes the
new one completely, checks its row count and a sample of passages against the generation,
then moves the alias (``Settings.milvus_alias``) to it and drops every collection of that
alias except the new one and the one it replaced. A failed build drops its own collection
and leaves the alias where it was. A reader searches the collection its manifest names
(not the alias), so a server that still answers from the previous generation never mixes
generations.

Milvus Lite (``pymilvus`` with ``milvus-lite``; ``Settings.milvus_uri`` a file path, by
default ``index/milvus.db``) lets one process at a time open the file; a Milvus server
(``http://host:19530``, standalone or distributed) serves any number of clients.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import IndexMismatchError, RagError
from ..schema import Chunk
from . import Ranking, Within

if TYPE_CHECKING:
    from ..settings import Settings
    from ..store import Generation

__all__ = [
    "MilvusBackend",
    "collection_name",
    "collection_of",
    "discard",
    "publish",
    "switch_alias",
]

# Fields of a passage record besides the vectors; "meta" holds the rest of Chunk as JSON.
_RECORD = ["chunk_id", "doc_id", "doc_title", "text", "meta"]
_VARCHAR_MAX = 65_535
_BATCH = 1_000
_SAMPLE = 50
_FIX = "run `rag build --force --backend milvus`"
Log = Callable[[str], None]


def collection_name(alias: str, build_id: str) -> str:
    """The collection of one generation: ``<alias>_<build id>`` in Milvus's alphabet."""
    return f"{alias}_{re.sub(r'[^A-Za-z0-9_]', '_', build_id)}"


def collection_of(manifest: dict[str, Any]) -> str | None:
    """The collection a generation was built into, or None (built for the local backend)."""
    backend = manifest.get("backend")
    if isinstance(backend, dict) and backend.get("kind") == "milvus":
        name = backend.get("collection")
        return name if isinstance(name, str) else None
    return None


def _filter(within: Within | None) -> dict[str, str]:
    """A Milvus boolean filter on the documents of ``within`` (applied before ranking)."""
    if within is None:
        return {}
    return {"filter": f"doc_id in {json.dumps(list(within.doc_ids), ensure_ascii=False)}"}


def _client(settings: Settings) -> Any:
    """A connected ``MilvusClient``.

    Raises:
        RagError: pymilvus is missing or the server cannot be reached.
    """
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise RagError(
            "the Milvus backend needs pymilvus: pip install 'pymilvus[milvus-lite]'"
        ) from None
    uri = settings.milvus_target
    kwargs: dict[str, Any] = {"uri": uri}
    if settings.milvus_token:
        kwargs["token"] = settings.milvus_token
    if settings.milvus_user:
        kwargs["user"] = settings.milvus_user
        kwargs["password"] = settings.milvus_password
    if settings.milvus_db:
        kwargs["db_name"] = settings.milvus_db
    try:
        return MilvusClient(**kwargs)
    except Exception as exc:  # pymilvus raises its own tree and plain connection errors
        raise RagError(f"cannot reach Milvus at {uri} ({_short(exc)})") from None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


@contextmanager
def _connected(settings: Settings) -> Iterator[Any]:
    client = _client(settings)
    try:
        yield client
    finally:
        client.close()


def _record(chunk: Chunk) -> dict[str, Any]:
    data = chunk.to_dict()
    record = {name: data.pop(name) for name in _RECORD[:-1]}
    record["meta"] = json.dumps(data, ensure_ascii=False)
    return record


def _chunk(entity: dict[str, Any]) -> Chunk:
    data = json.loads(entity["meta"])
    data.update({name: entity[name] for name in _RECORD[:-1]})
    return Chunk.from_dict(data)


def publish(settings: Settings, generation: Generation, name: str, log: Log) -> None:
    """Write ``generation`` into a new collection ``name`` and check it (alias untouched).

    Args:
        settings: Where Milvus is.
        generation: The new generation, loaded back from disk (what readers will see).
        name: The collection (:func:`collection_name`); an old one of that name is replaced.
        log: Progress messages.

    Raises:
        RagError: Milvus failed or the collection does not hold what was written; the new
            collection is dropped again.
    """
    from pymilvus import DataType, MilvusClient

    vectors = generation.vectors
    n = len(generation.chunks)
    with _connected(settings) as client:
        try:
            if client.has_collection(name):
                client.drop_collection(name)
            schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("id", DataType.INT64, is_primary=True)
            for field in _RECORD:
                schema.add_field(field, DataType.VARCHAR, max_length=_VARCHAR_MAX)
            schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
            index = client.prepare_index_params()
            index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
            if vectors is not None:
                schema.add_field("dense", DataType.FLOAT_VECTOR, dim=vectors.dimension)
                index.add_index("dense", **_dense_index(settings, n))
            client.create_collection(name, schema=schema, index_params=index)
            indptr, token_ids, weights = generation.lexical.passage_weights()
            matrix = vectors.reconstruct_all() if vectors is not None else None
            chunks = generation.chunks
            for start in range(0, n, _BATCH):
                rows = []
                for i in range(start, min(n, start + _BATCH)):
                    record = _record(chunks[i])
                    too_long = [f for f in _RECORD if len(record[f].encode()) > _VARCHAR_MAX]
                    if too_long:
                        raise RagError(
                            f"passage {record['chunk_id']} has a {too_long[0]} longer than "
                            f"Milvus's {_VARCHAR_MAX} bytes; use a smaller chunk_size"
                        )
                    s, e = indptr[i], indptr[i + 1]
                    record["id"] = i
                    record["sparse"] = dict(
                        zip(token_ids[s:e].tolist(), weights[s:e].tolist(), strict=True)
                    )
                    if matrix is not None:
                        record["dense"] = matrix[i].tolist()
                    rows.append(record)
                client.insert(name, rows)
                if start and start % (20 * _BATCH) == 0:
                    log(f"milvus: {start:,} of {n:,} passages written into {name}")
            client.flush(name)
            client.load_collection(name)
            _check(client, name, generation)
        except RagError:
            _drop(client, name)
            raise
        except Exception as exc:
            _drop(client, name)
            raise RagError(
                f"writing into Milvus collection {name} failed ({_short(exc)})"
            ) from None
    log(f"milvus: {n:,} passages in collection {name}")


def _dense_index(settings: Settings, n: int) -> dict[str, Any]:
    # The same choice as the local FAISS index: exact below ann_threshold, HNSW (M 32,
    # efConstruction 200) above; Milvus Lite serves FLAT whatever is asked.
    if n < settings.ann_threshold or not settings.milvus_target.startswith(("http", "tcp")):
        return {"index_type": "FLAT", "metric_type": "IP"}
    from ..vectors import HNSW_EF_CONSTRUCTION, HNSW_M

    return {
        "index_type": "HNSW",
        "metric_type": "IP",
        "params": {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION},
    }


def _count(client: Any, name: str) -> int:
    rows = client.query(name, filter="", output_fields=["count(*)"])
    return int(rows[0]["count(*)"])


def _check(client: Any, name: str, generation: Generation) -> None:
    """Row count and a spread sample of passages (text and ids) against the generation."""
    n = len(generation.chunks)
    found = _count(client, name)
    if found != n:
        raise RagError(f"Milvus collection {name} holds {found} passages, expected {n}")
    rows = sorted({int(i) for i in np.linspace(0, n - 1, num=min(n, _SAMPLE))})
    got = {r["id"]: r for r in client.query(name, ids=rows, output_fields=_RECORD)}
    for i in rows:
        if i not in got or _chunk(got[i]) != generation.chunks[i]:
            raise RagError(f"Milvus collection {name} returns passage {i} other than written")


def _drop(client: Any, name: str) -> None:
    try:
        if client.has_collection(name):
            client.drop_collection(name)
    except Exception:  # the original error is the one to report
        pass


def discard(settings: Settings, name: str) -> None:
    """Drop a collection a failed build wrote (never the one the alias names)."""
    try:
        with _connected(settings) as client:
            if _alias_target(client, settings.milvus_alias) != name:
                _drop(client, name)
    except RagError:
        pass


def _alias_target(client: Any, alias: str) -> str | None:
    if alias not in client.list_aliases().get("aliases", []):
        return None
    return str(client.describe_alias(alias)["collection_name"])


def switch_alias(settings: Settings, name: str) -> None:
    """Point the alias at collection ``name``; keep only it and the one it replaced.

    Raises:
        RagError: Milvus failed (the alias is left where it was).
    """
    alias = settings.milvus_alias
    with _connected(settings) as client:
        try:
            previous = _alias_target(client, alias)
            if previous is None:
                client.create_alias(name, alias)
            else:
                client.alter_alias(name, alias)
            keep = {name, previous}
            for other in client.list_collections():
                if other.startswith(f"{alias}_") and other not in keep:
                    _drop(client, other)
        except Exception as exc:
            raise RagError(
                f"switching Milvus alias {alias} to {name} failed ({_short(exc)})"
            ) from None


class MilvusBackend:
    """Searches and fetches through a Milvus collection (see the module docstring).

    Create it with :meth:`connect`. Thread-safe: pymilvus clients may be shared, and the
    passage cache has a lock.
    """

    name = "milvus"

    def __init__(self, client: Any, collection: str, generation: Generation, alias: str) -> None:
        self._client = client
        self.collection = collection
        self.alias = alias
        self.generation = generation
        self._lexical = generation.lexical
        self._cache: OrderedDict[int, Chunk] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def connect(cls, settings: Settings, generation: Generation, name: str) -> MilvusBackend:
        """Connect and check that the generation's collection is there and complete.

        Raises:
            RagError: Milvus cannot be reached.
            IndexMismatchError: The collection is missing or holds another number of rows.
        """
        client = _client(settings)
        try:
            if not client.has_collection(name):
                raise IndexMismatchError(
                    f"Milvus at {settings.milvus_target} has no collection {name} for build "
                    f"{generation.info.build_id}; {_FIX}"
                )
            client.load_collection(name)
            count = _count(client, name)
        except IndexMismatchError:
            client.close()
            raise
        except Exception as exc:
            client.close()
            raise RagError(f"Milvus at {settings.milvus_target} failed ({_short(exc)})") from None
        if count != len(generation.chunks):
            client.close()
            raise IndexMismatchError(
                f"Milvus collection {name} holds {count} passages, the manifest says "
                f"{len(generation.chunks)}; {_FIX}"
            )
        return cls(client, name, generation, settings.milvus_alias)

    def close(self) -> None:
        """Release the connection (Milvus Lite: the database file)."""
        self._client.close()

    def _remember(self, hits: Any) -> tuple[list[int], list[float]]:
        ids, scores = [], []
        with self._lock:
            for hit in hits:
                row = int(hit["id"])
                ids.append(row)
                scores.append(float(hit["distance"]))
                entity = hit.get("entity") or {}
                if "meta" in entity and row not in self._cache:
                    self._cache[row] = _chunk(entity)
            while len(self._cache) > 65_536:
                self._cache.popitem(last=False)
        return ids, scores

    def lexical(self, tokens: Sequence[str], k: int, within: Within | None = None) -> Ranking:
        token_ids = self._lexical.token_ids(tokens)
        if k <= 0 or not token_ids:
            return [], []
        query = dict.fromkeys(token_ids, 1.0)
        result = self._client.search(
            self.collection,
            data=[query],
            anns_field="sparse",
            limit=k,
            search_params={"metric_type": "IP", "params": {"drop_ratio_search": 0.0}},
            output_fields=_RECORD,
            **_filter(within),
        )
        ids, scores = self._remember(result[0])
        constant = self._lexical.constant(token_ids)
        # The local index breaks ties by the lower row; so does this.
        ranked = sorted(
            ((s + constant, i) for i, s in zip(ids, scores, strict=True) if s > 0),
            key=lambda p: (-p[0], p[1]),
        )
        return [i for _, i in ranked], [float(np.float32(s)) for s, _ in ranked]

    def dense(self, vector: np.ndarray, k: int, within: Within | None = None) -> Ranking:
        if self.generation.vectors is None:
            raise RagError("this index has no vectors (built without an embedding model)")
        result = self._client.search(
            self.collection,
            data=[np.asarray(vector, dtype=np.float32).reshape(-1).tolist()],
            anns_field="dense",
            limit=k,
            search_params={"metric_type": "IP"},
            output_fields=_RECORD,
            **_filter(within),
        )
        ids, scores = self._remember(result[0])
        # Ties (equal inner products) by the lower row, as FAISS's exact search gives them.
        ranked = sorted(zip(scores, ids, strict=True), key=lambda p: (-p[0], p[1]))
        return [i for _, i in ranked], [s for s, _ in ranked]

    def fetch(self, rows: Sequence[int]) -> list[Chunk]:
        with self._lock:
            missing = [r for r in rows if r not in self._cache]
        if missing:
            found = self._client.query(self.collection, ids=list(missing), output_fields=_RECORD)
            with self._lock:
                for entity in found:
                    self._cache[int(entity["id"])] = _chunk(entity)
        with self._lock:
            try:
                return [self._cache[r] for r in rows]
            except KeyError as exc:
                raise IndexMismatchError(
                    f"Milvus collection {self.collection} lacks passage {exc}; {_FIX}"
                ) from None

    def problems(self) -> list[str]:
        try:
            count = _count(self._client, self.collection)
            target = _alias_target(self._client, self.alias)
        except Exception as exc:
            return [f"Milvus does not answer ({_short(exc)})"]
        out = []
        if count != len(self.generation.chunks):
            out.append(
                f"collection {self.collection} holds {count} passages, the manifest says "
                f"{len(self.generation.chunks)}"
            )
        if target != self.collection:
            out.append(
                f"alias {self.alias} names {target or 'nothing'}, the serving generation is "
                f"in {self.collection}"
            )
        return out
