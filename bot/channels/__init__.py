"""Messaging channels: Rasa input channels for the apps customers already use, and
what they share (sender ids, delivery failures, redelivered webhooks, limits)."""
