"""Tandem's handoff service: the human-agent queue behind the bot."""
