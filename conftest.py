"""Top-level pytest configuration: the cnimatrix plugin and the shared fixtures."""
pytest_plugins = ["cnimatrix.pytest_plugin", "fixtures.cluster", "fixtures.workloads", "fixtures.outside", "fixtures.addons"]
