"""Webhooks: an organisation's référent subscribes a URL to what happens on its cases.

Events are written to an outbox in the action's transaction (``outbox``), then delivered by
the background worker in order, signed the Standard Webhooks way (``delivery``).
"""
