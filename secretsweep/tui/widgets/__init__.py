"""Widgets of the triage app."""
