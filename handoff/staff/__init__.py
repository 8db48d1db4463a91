"""Staff access: agents and supervisors, sign-in, tokens, permissions, login
limits and the canned responses agents share."""
