"""The pod network suite's data and judgements (suites/podnet)."""
