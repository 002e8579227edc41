"""Matching's rules in plain Python: orders and their lifecycle, grabs, talents, ranking."""
