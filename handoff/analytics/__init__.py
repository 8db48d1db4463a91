"""The supervisors' numbers: conversations, queue, wait, handle time, CSAT."""
