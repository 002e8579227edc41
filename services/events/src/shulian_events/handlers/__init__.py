"""Commands and consumed events of the calendar; the only place a transaction commits."""
