"""The fleet: configuration, Celery app, tasks, the fleet runner and the ``sesame`` command."""
