"""Emotion detection: anger, frustration and distress in Korean and English messages.

``labels`` (the three emotions and the data sets' mappings), ``datasets`` (readers),
``features`` (the classifier architecture), ``rules`` (the rule layer and its word
lists in ``data/``), ``scoring`` (model plus rules), ``train`` (the training script),
``component`` (the Rasa NLU component).
"""
