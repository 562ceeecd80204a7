"""Factories and org-isolation harness registrations for the scheduling app."""
