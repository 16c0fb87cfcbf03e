"""Compliance as code: forbidden words, the sender registry, PII detection and approvals."""
