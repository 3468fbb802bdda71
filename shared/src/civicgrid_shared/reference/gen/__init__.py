"""Builders for the reference data files (used by ..generate, never at run time)."""
