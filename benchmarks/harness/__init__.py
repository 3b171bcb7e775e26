"""Pieces the benchmark scripts share: the machine, the services under test, the load generators.

* ``machine``: loopback ports, what the machine is, and a CPU meter that says how much of it the
  server, the load generator, PostgreSQL and everything else used while we measured.
* ``services``: a throwaway PostgreSQL cluster and the Headwater server under uvicorn, each in
  its own process on 127.0.0.1.
* ``load``: two closed-loop load generators (Python with httpx, and wrk) that return the same
  ``Measurement``, wrk with one fixed POST (``run_wrk_post``, the serving benchmark's load), and
  an optional py-spy profile of the server.
* ``venvs``: peers in venvs of their own under ``~/.cache/headwater-bench``, installed on first
  use.

Nothing here imports Headwater: the server runs in its own process, as users run it.
"""
