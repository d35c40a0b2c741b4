"""The benchmarks' yardstick: the smallest honest Flask + Flask-SQLAlchemy app on the project's
stack, whose one write does what any write path must do: parse a small JSON body, one INSERT,
COMMIT, answer JSON. Served by the same gunicorn, on the same database (MEETUPS_DATABASE_URL),
with SQLite's same journal settings; `python -m bench` compares the project's endpoints with it.
Not part of the application: nothing in meetups/ imports it."""
import os
from datetime import datetime

from flask import Flask, jsonify, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, String, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Entry(db.Model):
    __tablename__ = "reference_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # As the project's shared.db.sqlite_pragmas: WAL, synchronous NORMAL.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA busy_timeout = 15000")
    cursor.close()


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["MEETUPS_DATABASE_URL"]
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)

    @app.post("/entries")
    def create_entry():
        body = request.get_json()
        entry = Entry(name=str(body["name"])[:100], email=str(body["email"])[:254])
        db.session.add(entry)
        db.session.flush()  # the INSERT; its id known without reading the row back after the commit
        answer = {"id": entry.id, "email": entry.email}
        db.session.commit()
        return jsonify(answer), 201

    @app.get("/api/health")
    def health():
        return jsonify({"status": "ok"})

    return app


def create_table(database_url: str) -> None:
    """Before the server starts (its workers would race to create it)."""
    engine = create_engine(database_url)
    try:
        Base.metadata.create_all(engine)
    finally:
        engine.dispose()
