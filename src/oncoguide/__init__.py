"""oncoguide: cited, structured answers about DFSP and soft-tissue sarcoma, offline."""

from oncoguide.kb import KnowledgeBase

__all__ = ["KnowledgeBase"]
__version__ = "0.1.0"
