"""Understand: language, entities, sentiment, emotion, topics, voice of the customer, business area, safety."""
