"""Factories and org-isolation harness registrations for the incidents app."""
