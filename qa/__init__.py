"""qa: cited answers over your own documents, offline by default."""

import os as _os

# The query path multiplies small matrices (one question, a few sentences): one BLAS thread is
# fastest there, and OpenBLAS's spinning worker threads slow to a crawl on a busy shared machine.
# Must be set before NumPy loads. Bulk indexing runs in torch, which has its own threads.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from qa.api import Engine, answer, answer_stream, verify
from qa.errors import QAError
from qa.types import Answer, Citation, CitationCheck, Sentence

__all__ = ["Answer", "Citation", "CitationCheck", "Engine", "QAError", "Sentence", "answer",
           "answer_stream", "verify"]
