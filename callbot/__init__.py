"""Overflow voice callbot for citizen hotlines."""

__version__ = "0.1.0"
