"""Google Cloud IAM semantics: CEL conditions (cel), the concrete reference evaluator (reference),
the z3 encoding on the core proof ladder (encode), the snapshot index (index), and the engine
behind the core protocol (engine: ``GcpEngine``)."""
