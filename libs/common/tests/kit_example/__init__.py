"""A minimal service built on the kit, for the kit's tests only: one aggregate (notes), its
routes (create with Idempotency-Key, read with ETag, list by cursor, rename with If-Match), one
event (``note.saved``) and one consumer (a log of the notes it has seen).

Everything generic comes from ``shulian_common``; what is here is what a new service writes.
"""
