"""python -m services.scheduler: run the JobScheduler with settings from the environment."""

from services.common.logs import configure_logging
from services.common.server import run
from services.scheduler.server import serve
from services.scheduler.settings import SchedulerSettings

if __name__ == "__main__":
    settings = SchedulerSettings.from_env()
    configure_logging(settings.log_level, json_lines=settings.log_json, service="scheduler")
    run(lambda: serve(settings))
