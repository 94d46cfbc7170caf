"""A local anvil chain for tests: process control (anvil.py) and pytest fixtures (fixtures.py)."""
