"""Matrix, as an application service with puppets (mautrix-python)."""
