"""Factories and org-isolation harness registrations for the schedule app."""
