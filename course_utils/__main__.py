"""Run ``python -m course_utils reproduce --help`` for the command-line tools."""

import sys

from .cli import main

sys.exit(main())
