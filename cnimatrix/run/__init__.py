"""Running the suites: the `cnimatrix` command (cli), one CNI after another (matrix), which run owns
which cluster (ownership), the suites a run runs (suites) and the child pytest's signals (process)."""
