"""Exports officials open: XLSX and CSV tables, DOCX summaries, the HTML dashboard."""
