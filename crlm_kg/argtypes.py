"""argparse value types shared by the command modules."""
from __future__ import annotations

import argparse


def iso_date(text: str):
    import datetime as dt
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text}") from None
