"""Mining: kernels of existing Warp programs turned into self-contained records (``synth mine``).

Imports go one way, from the command down to the ground floor:

* ``command``: the ``synth mine`` CLI (arguments, the ``Store``, ``stats.json``, the report);
* ``progress``: per-file progress on stderr;
* ``pipeline``: slice files, compile their units through the ``Extractor``, commit records;
* ``files``: find the files to mine and run the slicer children (no Warp in this process);
* ``child``: the slicer child: imports a user's file and slices each of its kernels;
* ``kernel_source``: cuts one kernel into a self-contained module source (``definitions``: a def's
  text and names; ``annotations``: what names used only in annotations stood for; ``spelling``:
  literals and public imports);
* ``slices``: what slicing a file yields, and its JSON form between child and parent;
* ``source_scan``: what a file's syntax tree says (declared kernels, static launch block_dim);
* ``oracle``: the yardstick: which kernels Warp itself compiles in their original module.
"""
