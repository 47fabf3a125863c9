"""Managers' figures: the UO-TR1.1 bonus, contract periods and automated-resolution rates (pure functions)."""
