"""Utilities shared by the estimators."""
