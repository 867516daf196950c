"""qa: cited answers over your own documents, offline by default."""

from qa.api import Engine, answer, answer_stream, verify
from qa.errors import QAError
from qa.types import Answer, Citation, CitationCheck, Sentence

__all__ = ["Answer", "Citation", "CitationCheck", "Engine", "QAError", "Sentence", "answer",
           "answer_stream", "verify"]
