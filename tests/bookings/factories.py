"""Factories and org-isolation harness registrations for the bookings app."""
