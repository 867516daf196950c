"""A large corpus of real English text that every machine with Python has: the docstrings of the
standard library (and pydoc's help topics, the language reference as text). Read with `ast`
(nothing is imported or executed), one .txt file per module, docstrings separated by blank lines,
in a fixed order so every run gets the same files. Should the standard library ever fall short,
the packages installed next to it follow.

    .venv/bin/python bench/stdlib_corpus.py OUT_DIR [--min-chunks 10000]

As a module: `write_corpus(out_dir, min_chunks)` writes files until `qa`'s chunker makes at least
`min_chunks` chunks of them, and returns the number of files, chunks and characters.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SKIP_PARTS = {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__",
              "lib2to3", "turtledemo", "ensurepip", "encodings"}
MIN_DOCSTRING_CHARS = 80  # one-liners such as "Return self." are not prose


@dataclass(frozen=True)
class CorpusInfo:
    files: int
    chunks: int
    chars: int


def sources() -> list[tuple[str, Path]]:
    """(name prefix, file) of every module to read, in a fixed order: the standard library first,
    then the packages installed next to it (the venv), both sorted by path."""
    out: list[tuple[str, Path]] = []
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    site = Path(sysconfig.get_paths()["purelib"])
    for root, prefix, skip in ((stdlib, "", SKIP_PARTS), (site, "site.", SKIP_PARTS - {"site-packages"})):
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(root)
            if skip.intersection(rel.parts) or (root == site and rel.parts[0] == "qa"):
                continue
            out.append((prefix + rel.with_suffix("").as_posix().replace("/", "."), path))
    return out


def docstrings(path: Path) -> list[str]:
    """Docstrings of the module, its classes and functions; for pydoc's help topics (the language
    reference as text) the topics themselves."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                out.append(inspect.cleandoc(doc).strip())
        elif path.name == "topics.py" and isinstance(node, ast.Dict):
            out += [inspect.cleandoc(v.value).strip() for v in node.values
                    if isinstance(v, ast.Constant) and isinstance(v.value, str)]
    return [d for d in out if len(d) >= MIN_DOCSTRING_CHARS]


def write_corpus(out_dir: Path, min_chunks: int = 10_000) -> CorpusInfo:
    """Writes docstrings to `out_dir`, a file per module, until qa's chunker makes at least
    `min_chunks` chunks of them."""
    from qa.sources.ingest import chunk_source
    from qa.sources.readers import read_source
    from qa.store.embed import Embedder

    out_dir.mkdir(parents=True, exist_ok=True)
    count_tokens = Embedder().token_counts
    files = chunks = chars = 0
    for name, path in sources():
        docs = [d for d in docstrings(path) if _printable(d)]
        if not docs:
            continue
        target = out_dir / f"{name}.txt"
        target.write_text("\n\n".join(docs) + "\n", encoding="utf-8")
        doc = read_source(target, target.name)
        files += 1
        chunks += len(chunk_source(target.name, doc, count_tokens))
        chars += len(doc.text)
        if chunks >= min_chunks:
            return CorpusInfo(files, chunks, chars)
    raise SystemExit(f"only {chunks} chunks of docstrings found (< {min_chunks})")


def _printable(text: str) -> bool:
    return all(ch.isprintable() or ch in "\n\t" for ch in text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--min-chunks", type=int, default=10_000)
    args = parser.parse_args()
    info = write_corpus(args.out_dir, args.min_chunks)
    print(f"{info.files} files, {info.chunks} chunks, {info.chars:,} characters in {args.out_dir}")


if __name__ == "__main__":
    main()
