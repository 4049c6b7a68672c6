"""Consistency checks of the guideline itself (crlm-kg check)."""
