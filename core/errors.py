"""The one user-facing error type.

A ``UserError`` is an expected problem with what the user asked for (a bad flag value, a folder
that is not a dataset, an unreachable endpoint).  ``synth``'s entry point prints it as one line,
``synth COMMAND: error: MESSAGE``, and exits with status 2; anything else is a bug and keeps its
traceback.  Modules raise ``UserError`` itself or a subclass that names their domain.
"""

from __future__ import annotations


class UserError(Exception):
    """An expected, user-facing failure: one line on stderr, exit status 2."""
