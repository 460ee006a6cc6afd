# SPDX-License-Identifier: MIT
"""The benchmarks' command line: -h/--help prints the script's own usage instead of a run."""
import sys


def run(main, doc):
    """Runs main(), or prints @doc and exits when asked for help; main's return is the status."""
    if "-h" in sys.argv[1:] or "--help" in sys.argv[1:]:
        print((doc or "").strip())
        sys.exit(0)
    sys.exit(main())
