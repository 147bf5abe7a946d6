"""The yardstick: one `def` endpoint that inserts one row, on the same stack as the service
(FastAPI, uvicorn, SQLAlchemy session, psycopg 3, same engine settings)."""

import os
from datetime import UTC, datetime

from fastapi import FastAPI
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, insert

from app.db import make_engine, make_session_factory

metadata = MetaData()
pings = Table("bench_pings", metadata, Column("id", Integer, primary_key=True), Column("note", String(100)),
              Column("at", DateTime(timezone=True)))

engine = make_engine(os.environ["DATABASE_URL"])
with engine.begin() as conn:  # one process at a time: the served processes import this at once
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(72001)")
    metadata.create_all(conn)
factory = make_session_factory(engine)
app = FastAPI()


@app.post("/ping", status_code=201)
def ping(body: dict) -> dict:
    with factory() as session, session.begin():
        new_id = session.execute(insert(pings).values(note=str(body.get("n")), at=datetime.now(UTC))
                                 .returning(pings.c.id)).scalar_one()
    return {"id": new_id}
