"""REPORTS_DATABASE_URL: report and export reads go to the replica it names; without it, to the primary."""

from pathlib import Path

from sqlalchemy import func, select, text
from test_reports import crafted  # noqa: F401 — the crafted month: cases to report and export

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


def test_reports_and_exports_read_through_the_reports_url_when_it_is_set(db_url: str, test_config, clock,  # type: ignore[no-untyped-def]
                                                                         crafted) -> None:  # noqa: F811
    """A second URL on the same database stands in for the replica: the summary's and the exported rows'
    queries show up on its engine, none on the primary's."""
    from lifecycle_driver import Api
    from sqlalchemy import event

    from app import create_app
    from app.clock import FrozenClock
    from tests.conftest import Auth

    assert isinstance(clock, FrozenClock)
    application = create_app({**test_config, "REPORTS_DATABASE_URL": db_url}, clock=clock)
    db = application.extensions["huiyin"].db
    seen: dict[str, list[str]] = {"primary": [], "reports": []}
    for name, engine in (("primary", db.engine), ("reports", db.reports_engine)):
        event.listen(engine, "before_cursor_execute",
                     lambda _c, _cur, statement, *_a, name=name: seen[name].append(statement))
    client = application.test_client()
    api, auth = Api(client), Auth(client)
    try:
        assert api.call("leader01", "GET", "/reports/monthly?month=2026-10").status_code == 200
        auth.login("leader01")
        assert client.get("/reports?period=month&day=2026-10-01").status_code == 200
        assert client.get("/reports/custom?period=month&day=2026-10-01&rows=unit&measure=new").status_code == 200
        assert any("report_day" in s for s in seen["reports"])
        assert not any("report_day" in s for s in seen["primary"])
        seen["primary"].clear()
        seen["reports"].clear()
        export = api.call("leader01", "POST", "/exports", json={"query": {"kind": "complaint"}, "format": "csv"})
        assert export.status_code in (200, 201, 202), export.get_json()
        rows_query = [s for s in seen["reports"] if "FROM \"case\"" in s and "ORDER BY" in s]
        assert rows_query, "the exported rows are read on the reports engine"
        assert not [s for s in seen["primary"] if "FROM \"case\"" in s and "ORDER BY" in s]
    finally:
        db.dispose()
