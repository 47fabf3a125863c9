"""Sésame's tests: ``unit`` beside ``integration`` (real Redis, Samba AD and sandboxes)."""
