"""Rasa-side extensions of Tandem: the spaCy pipeline, NLU components, event broker."""
