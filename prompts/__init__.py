"""Jinja templates only (kernel families under kernels/, LLM chats under chat/); shipped as package data."""
