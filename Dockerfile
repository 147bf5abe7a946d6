# Build: the venv with the service installed. Run: the venv and the code, as a non-root user.
#   docker build -t spares .
#   docker run --rm -e DATABASE_URL=postgresql+psycopg://… spares init-db        # migrations, once per release
#   docker run -p 8000:8000 -e DATABASE_URL=… -e PUBLIC_BASE_URL=https://… spares  # the API
#   docker run -e DATABASE_URL=… spares worker                                    # background jobs
FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /srv
RUN python -m venv /venv
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN /venv/bin/pip install -e .

FROM python:3.12-slim
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin spares
COPY --from=build /venv /venv
COPY --from=build /srv /srv
WORKDIR /srv
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
USER spares
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"]
# Exec form: `spares` is PID 1 and gets SIGTERM itself, so `docker stop` stops it cleanly.
ENTRYPOINT ["spares"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
