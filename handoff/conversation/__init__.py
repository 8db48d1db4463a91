"""The customer's conversation with the bot: events ingested from Rasa's
stream, agents' replies sent back through Rasa, notices and ratings."""
