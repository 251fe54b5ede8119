"""One module per rule (or per small family of rules); see simulator.findings.catalogue."""
