"""The DNS suite's pure judgements and parsers (suites/dns)."""
