"""Real time: the live feed to agents' WebSockets, its relay across instances,
and the group commit on the relay's write path."""
