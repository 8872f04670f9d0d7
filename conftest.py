"""Top-level pytest configuration: the cnimatrix plugin and the shared fixtures."""
pytest_plugins = ["cnimatrix.testkit.plugin", "cnimatrix.testkit.background", "fixtures.workloads", "fixtures.cluster", "fixtures.outside", "fixtures.addons"]
