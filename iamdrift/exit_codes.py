"""Exit codes of every ``iamdrift`` command (documented in the README)."""

OK = 0
#: The command failed: bad input, unusable credentials, unreachable store. Nothing was written.
FAILED = 1
#: The command line was wrong (unknown option, missing argument).
USAGE = 2
#: ``scan --strict``: the snapshot was written, but its coverage has gaps.
GAPS = 3
#: Interrupted (Ctrl-C, SIGINT): 128 + SIGINT, as shells report it. The last line says whether a
#: snapshot was stored.
INTERRUPTED = 130
