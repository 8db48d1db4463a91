"""The queue: handoffs and their states, assignment to agents, queue order,
wait estimates and the sweeper that enforces timeouts."""
