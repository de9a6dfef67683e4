"""The LLM source of ``synth run``: a chat model diversifies template kernels and repairs rejects.

``config`` holds the settings (``LLMConfig``, resolved from CLI, environment and TOML) and the
error types; ``client`` is the only module that speaks the ``openai`` SDK (``ChatClient``:
retries, budget, stats); ``messages`` renders the system, diversify and repair chats from
``prompts/chat/*.j2``; ``replies`` parses the kernel module out of a reply; ``coverage`` tracks
which builtins, dtypes and features accepted kernels used (through the one scanner,
``warp_synth.usage.scan``) and suggests what to ask for next; ``jobs`` and ``source`` run the
diversify -> extract -> repair jobs inside the run loop.  Nothing here executes model output:
extraction happens in isolated workers (``warp_synth.extract``).
"""
