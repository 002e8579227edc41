"""The activity calendar's rules in plain Python: terms, lifecycle, series, participation."""
