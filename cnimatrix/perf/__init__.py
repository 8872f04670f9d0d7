"""The perf suite's pure logic: routes as data, tool commands and their parsers, ratios with
spread, cgroup accounting and growth curves. Nothing here talks to a cluster (suites/perf does)."""
