"""Diversity evaluation: reads dataset directories, writes reports (``synth eval``).

Never imports ``synth``'s generation code; Warp's builtin list comes from
``extract.warp_adapter``.  Entry points live in ``eval.report``.
"""
