"""Tests for the pure crypto package."""
