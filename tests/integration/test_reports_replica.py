"""REPORTS_DATABASE_URL: report and export reads go to the replica it names; without it, to the primary."""

from pathlib import Path

from sqlalchemy import func, select, text

from app.db import Database
from app.models import Unit


def test_reporting_reads_the_replica_when_one_is_configured_and_the_primary_otherwise(db_url: str,
                                                                                        tmp_path: Path) -> None:
    replica_url = f"sqlite:///{tmp_path / 'replica.db'}"
    replica = Database(replica_url)
    with replica.engine.begin() as conn:  # stands in for a replica that holds the rows the primary shipped
        conn.execute(text("CREATE TABLE unit (id INTEGER PRIMARY KEY, code TEXT, name TEXT)"))
        conn.execute(text("INSERT INTO unit (id, code, name) VALUES (1, 'r', '副本上的单位')"))
    replica.dispose()

    routed = Database(db_url, reports_url=replica_url)
    alone = Database(db_url)
    try:
        with routed.reporting() as session:
            assert session.scalars(select(Unit.name)).all() == ["副本上的单位"]
        with routed.reading() as session:  # everything else still reads the primary (empty here)
            assert session.scalar(select(func.count()).select_from(Unit)) == 0
        with alone.reporting() as session:
            assert session.scalar(select(func.count()).select_from(Unit)) == 0
    finally:
        routed.dispose()
        alone.dispose()
