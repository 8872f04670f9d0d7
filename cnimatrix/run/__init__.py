"""Running the suites: the `cnimatrix` command (cli), one CNI after another (matrix), which run owns
which cluster (ownership) and the child pytest's signals (process)."""
