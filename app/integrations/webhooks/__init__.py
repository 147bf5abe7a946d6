"""Signed outbound webhooks (Standard Webhooks): endpoints admins register, one delivery per endpoint
and event, sent by the outbox with the spec's retry schedule."""
