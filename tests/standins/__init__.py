"""Stand-ins for the messaging platforms, run as processes or inside a test."""
