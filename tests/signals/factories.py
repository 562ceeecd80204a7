"""Factories and org-isolation harness registrations for the signals app."""
