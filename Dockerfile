# One image for the actor server, the Alertmanager receiver and the scheduled reports;
# each Kubernetes workload chooses its process with `command:`/`args:`
# (deploy/kubernetes/): `python -m server serve`, `mcops alerts serve`, `mcops report SET`.
#   docker build -t mcops:0.1.0 .
# Two stages: the first builds the wheel (which carries the scenario notebooks, the
# Prometheus rules and the Grafana dashboard as package data, setup.py), the second
# installs only that wheel: no source tree, no build tools in the image.
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY pyproject.toml setup.py README.md /src/
COPY mcops /src/mcops
COPY server /src/server
COPY notebooks /src/notebooks
COPY deploy/prometheus /src/deploy/prometheus
COPY deploy/grafana /src/deploy/grafana
RUN pip wheel --no-deps --wheel-dir /wheels /src

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The notebooks come with the package: `mcops list` says "from the installed package".
COPY --from=build /wheels /wheels
RUN pip install /wheels/mcops-*.whl && rm -rf /wheels

# Non-root, with a numeric id so runAsNonRoot can check it. Kernels write their
# connection files under HOME; the manifests mount an emptyDir there (read-only root).
RUN useradd --uid 10001 --user-group --home-dir /home/mcops --create-home mcops
USER 10001:10001
WORKDIR /home/mcops

EXPOSE 8080 9095
CMD ["python", "-m", "server", "serve", "--host", "0.0.0.0", "--port", "8080"]
