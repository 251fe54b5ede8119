"""The simulator: each cloud's policy semantics, twice.

A concrete **reference evaluator** decides single requests; a **z3 encoding** decides questions
over all requests ("is there a request such that ..."). Answers are three-valued: allowed (with a
witness request), denied (proven: explicit or implicit), or unknown (with the reason: a solver
timeout, an unsupported construct). Unknown is never reported as denied. Every witness the z3
side produces is replayed through the reference evaluator before it is returned.

Public API (AWS): :mod:`simulator.aws.simulate` (decide cases), :mod:`simulator.aws.compare`
(relation between two policies), :mod:`simulator.aws.snapshot_queries` (``can`` / ``who-can`` on
a stored snapshot). This package imports no cloud SDK and never the scanner.
"""
