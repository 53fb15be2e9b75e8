"""`python -m cicd.authz`: see cicd.authz.gate."""
import sys

from cicd.authz.gate import main
from cicd.errors import run_cli

sys.exit(run_cli(main))
