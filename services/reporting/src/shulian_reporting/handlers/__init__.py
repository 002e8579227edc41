"""Reporting's handlers: one function per consumed event or command; units of work commit here."""
