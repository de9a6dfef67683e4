"""Where extraction runs: ``local`` (worker processes on this machine), ``ray`` (one worker per
Ray actor on a cluster), and ``supervisor`` (starting, isolating and killing every child process
this package starts).  Both executors speak the same protocol to ``extract.worker`` processes
(``local.run_on_worker``), so a batch behaves the same wherever it runs."""
