"""Google Cloud IAM in the simulator: the CEL subset of conditions (cel), the concrete reference
evaluator (reference), the z3 encoding (encode), and can / who-can on a snapshot (snapshot_queries)."""
