"""Storage: tables, engines and queries. Storage knows SQL, not analysis.

It imports neither :mod:`monitors` nor :mod:`app`. :mod:`storage.schema` (the model
schema) is the shared contract that analyzers may import; nothing else here is theirs.
"""
