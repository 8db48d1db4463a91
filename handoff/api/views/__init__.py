"""Thin request handlers: parse, call the service layer, present."""
