"""`python -m cicd.policy.authz`: see cicd.policy.authz.gate."""
import sys

from cicd.policy.authz.gate import main
from cicd.workspace.errors import run_cli

sys.exit(run_cli(main))
