"""The Service suite's pure judgements (suites/service)."""
