# One image for the actor server, the Alertmanager receiver and the scheduled reports;
# each Kubernetes workload chooses its process with `command:`/`args:`
# (deploy/kubernetes/): `python -m server serve`, `mcops alerts serve`, `mcops report SET`.
#   docker build -t mcops:0.1.0 .
FROM python:3.11-slim

# MCOPS_NOTEBOOKS: the scenario notebooks the receiver and the reports run (mcops.runner)
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MCOPS_NOTEBOOKS=/opt/mcops/notebooks

COPY pyproject.toml README.md /src/
COPY mcops /src/mcops
COPY server /src/server
RUN pip install /src && rm -rf /src

COPY notebooks /opt/mcops/notebooks

# Non-root, with a numeric id so runAsNonRoot can check it. Kernels write their
# connection files under HOME; the manifests mount an emptyDir there (read-only root).
RUN useradd --uid 10001 --user-group --home-dir /home/mcops --create-home mcops
USER 10001:10001
WORKDIR /home/mcops

EXPOSE 8080 9095
CMD ["python", "-m", "server", "serve", "--host", "0.0.0.0", "--port", "8080"]
