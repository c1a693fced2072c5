"""python -m services.scheduler: run the JobScheduler with settings from the environment (how the container,
compose and Kubernetes start it). A store that cannot be opened (a file that is not a database, a path that
cannot be written) ends it with one line naming the store and what to do, and exit status 78, as
`skillbridge serve scheduler` does (services/cli/serve.py), not with a traceback."""

import sys

from services.cli.serve import run_service

if __name__ == "__main__":
    sys.exit(run_service("scheduler"))
