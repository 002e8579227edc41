"""Matching's commands and consumed events; the only place a transaction commits."""
