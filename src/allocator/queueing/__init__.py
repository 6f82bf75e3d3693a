"""Queueing models for response service levels: Erlang B and C, response floors."""
