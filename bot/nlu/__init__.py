"""Intent classification for the bot: sparse n-gram features and a calibrated
linear model, wrapped as a Rasa NLU component."""
