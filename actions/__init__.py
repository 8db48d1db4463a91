"""Tandem's custom actions, one module a feature; rasa-sdk registers them all."""
