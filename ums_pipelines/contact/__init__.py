"""The customer's side of a contact: MO replies read from the providers and routed.

:mod:`ums_pipelines.contact.keywords` holds the keyword table and its normalisation,
:mod:`ums_pipelines.contact.ingest` reads the feeds and routes each reply.
"""

from ums_pipelines.contact.ingest import MoResult, poll_mo
from ums_pipelines.contact.keywords import DEFAULT_KEYWORDS, KeywordRule, load_keywords, match

__all__ = ["DEFAULT_KEYWORDS", "KeywordRule", "MoResult", "load_keywords", "match", "poll_mo"]
