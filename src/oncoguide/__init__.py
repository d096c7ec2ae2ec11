"""oncoguide: cited, structured answers about DFSP and soft-tissue sarcoma, offline."""

from oncoguide.kb import KnowledgeBase

__all__ = ["KnowledgeBase"]


def __getattr__(name: str) -> str:
    # The one version source is pyproject.toml's, as installed; looked up on first use, so that
    # `import oncoguide` does not pay for searching the installed distributions.
    if name == "__version__":
        from importlib.metadata import version

        return version("oncoguide")
    raise AttributeError(f"module 'oncoguide' has no attribute {name!r}")
