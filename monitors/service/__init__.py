"""``driftwarden serve``: the HTTP collector (FastAPI), API keys and ``/metrics`` for Prometheus.

Model servers in any language send predictions and late labels over HTTP; the routes
decode the body (:mod:`.bodies`) and call exactly the ingest functions of the SDK and
``driftwarden ingest`` (:mod:`monitors.collectors.ingest`). See docs/collector-service.md.

Layout: :mod:`.app` builds the application from :class:`.settings.ServiceSettings`;
``routers/`` holds one ``APIRouter`` per resource; :mod:`.auth` is the API-key
dependency, :mod:`.keys` creates and checks keys; :mod:`.problems` turns the project's
errors into ``application/problem+json``; :mod:`.limits` bounds body size and request
time; :mod:`.telemetry` and :mod:`.exposition` are the Prometheus side.

Importing this package (``driftwarden keys``) loads neither FastAPI nor uvicorn.
"""
