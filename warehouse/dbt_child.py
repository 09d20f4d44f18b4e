"""Entry point of the dbt child process started by `medcom build`."""

import sys

from dbt.cli.main import dbtRunner

if __name__ == "__main__":
    res = dbtRunner().invoke(sys.argv[1:])
    sys.exit(0 if res.success else (1 if res.exception is None else 2))
