FROM python:3.12-slim
WORKDIR /srv
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip install --no-cache-dir -e .
# DATABASE_URL=postgresql+psycopg://… in production; SHIPPO_API_KEY to use Shippo.
EXPOSE 8000
CMD ["sh", "-c", "spares init-db && spares serve --host 0.0.0.0 --port 8000"]
