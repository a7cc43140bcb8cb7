"""``python -m churn``: see :mod:`churn.cli`."""

import sys

from churn.cli import main

if __name__ == "__main__":
    sys.exit(main())
