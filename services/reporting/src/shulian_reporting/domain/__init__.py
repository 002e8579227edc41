"""Reporting rules in plain Python: the indicator table, pace and status, warning rules, the
annual summary's state machine, and the Chinese labels every output uses.

No FastAPI, SQLAlchemy or bus here.
"""
