# syntax=docker/dockerfile:1
#
# One image for the three Dagster services of docker-compose.yaml:
#   code       dagster code-server (gRPC, port 4000) serving stockmart_assets.definitions; runs launched by
#              the DefaultRunLauncher execute here, so this is also the Spark driver (client mode against the
#              standalone master) and the MySQL / DuckDB client.
#   webserver  dagster-webserver (port 3000)
#   daemon     dagster-daemon run
# Keeping them on one image keeps dagster, dagster-webserver and dagster-postgres on exactly one version.
#
# Build:  docker compose build        (or: docker build -t stockmart:local .)
FROM python:3.11-slim-bookworm

# Dagster core and its integration libraries are versioned in lock-step (1.13.x <-> 0.29.x).
ARG DAGSTER_VERSION=1.13.27
ARG DAGSTER_LIBS_VERSION=0.29.27
# The app user's primary group is gid 185, the `spark` group of the apache/spark image: Spark writes its event
# logs with mode 660, and the history server (uid/gid 185) must be able to read what this driver writes.
ARG APP_UID=10001
ARG APP_GID=185

# SPARK_VERSION: pydeequ refuses to import without it (the Spark line its Deequ coordinates are for).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DAGSTER_HOME=/opt/dagster/home \
    SPARK_CONF_DIR=/opt/stockmart/spark-conf \
    SPARK_VERSION=3.5

# Java 17 for the PySpark driver JVM (Deequ 2.1.0-spark-3.5 and Spark 3.5 both support 17).
# The man1 directory works around openjdk's postinst on slim images that strip /usr/share/man.
RUN set -eux; \
    mkdir -p /usr/share/man/man1; \
    apt-get update; \
    apt-get install -y --no-install-recommends openjdk-17-jre-headless procps; \
    rm -rf /var/lib/apt/lists/*; \
    java -version

RUN set -eux; \
    groupadd --system --gid "${APP_GID}" spark; \
    useradd --uid "${APP_UID}" --gid "${APP_GID}" --create-home --home-dir /home/stockmart \
        --shell /usr/sbin/nologin stockmart; \
    mkdir -p "${DAGSTER_HOME}/storage" "${SPARK_CONF_DIR}" /opt/spark-events /data/landing /opt/stockmart/app \
        /var/lib/stockmart; \
    chown -R stockmart:spark "${DAGSTER_HOME}" /opt/spark-events /opt/stockmart /var/lib/stockmart; \
    chmod 2775 /opt/spark-events

WORKDIR /opt/stockmart/app

# Only what `pip install .` needs (BuildKit sends just these paths of the context; .venv, .git and data/ are
# never copied). README*/LICENSE* are optional globs in case pyproject.toml references them.
COPY pyproject.toml README* LICENSE* ./
COPY stockmart_assets ./stockmart_assets

RUN set -eux; \
    pip install \
        . \
        "dagster==${DAGSTER_VERSION}" \
        "dagster-webserver==${DAGSTER_VERSION}" \
        "dagster-postgres==${DAGSTER_LIBS_VERSION}"; \
    pip check

# Instance and workspace configuration (docker-compose.yaml also mounts these read-only, so edits to docker/
# take effect on restart without a rebuild).
COPY --chown=stockmart:spark docker/dagster.yaml docker/workspace.yaml ${DAGSTER_HOME}/
COPY --chown=stockmart:spark docker/spark/driver/spark-defaults.conf ${SPARK_CONF_DIR}/spark-defaults.conf

USER stockmart:spark
ENV HOME=/home/stockmart

# Resolve the Deequ and MySQL Connector/J jars from Maven Central now, as the runtime user and into its home,
# so that starting a SparkSession at run time needs no network.
RUN python -m stockmart_assets.lib.deequ.jars

EXPOSE 4000

HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["dagster", "api", "grpc-health-check", "-p", "4000"]

CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "stockmart_assets.definitions"]
