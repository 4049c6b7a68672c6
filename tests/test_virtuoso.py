"""Integration with an external SPARQL 1.1 store: Virtuoso Open Source (Debian: virtuoso-opensource-7-bin).

The test starts Virtuoso on free loopback ports as an unprivileged user (`nobody` when the tests run as root) with a
configuration and database in a fresh temporary folder, pushes the guideline and the test cohort with
`crlm-kg push` (SPARQL 1.1 Update, Digest authentication), runs every library query on Virtuoso's SPARQL endpoint and
compares each answer with the local (pyoxigraph) one, tries the Graph Store Protocol, and stops Virtuoso.
Skipped when virtuoso-t is not installed.

Virtuoso deviations the comparison allows (documented in docs/sparql.md): stored booleans come back as "1"/"0"
typed xsd:boolean, whole decimals as xsd:integer (numbers are compared by value), and SELECT DISTINCT may repeat a
row, so rows are compared as sets.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from crlm_kg import paths
from crlm_kg import push as P
from crlm_kg import query as Q
from crlm_kg.errors import InputError

from test_query_library import LIBRARY, VARIANTS, cohort_files, ox_store, params_for, same_answer  # noqa: F401

pytestmark = pytest.mark.skipif(shutil.which("virtuoso-t") is None,
                                reason="Virtuoso is not installed (apt-get install virtuoso-opensource-7-bin)")

INI = """[Database]
DatabaseFile = {d}/virtuoso.db
ErrorLogFile = {d}/virtuoso.log
LockFile = {d}/virtuoso.lck
TransactionFile = {d}/virtuoso.trx
xa_persistent_file = {d}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {d}/virtuoso-temp.db
TransactionFile = {d}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql}
DisableUnixSocket = 1
ServerThreads = 10
CheckpointInterval = 60
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
DirsAllowed = {d}
MaxQueryExecutionTime = 60

[HTTPServer]
ServerPort = 127.0.0.1:{http}
ServerRoot = {d}
MaxClientConnections = 5
ServerThreads = 5
EnabledDavVSP = 0

[SPARQL]
ResultSetMaxRows = 100000
MaxQueryExecutionTime = 60
MaxQueryCostEstimationTime = 400
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_nobody():
    """preexec_fn: drop root to nobody (Virtuoso needs no privilege)."""
    import pwd
    nobody = pwd.getpwnam("nobody")
    os.setgroups([])
    os.setgid(nobody.pw_gid)
    os.setuid(nobody.pw_uid)


@pytest.fixture(scope="module")
def virtuoso():
    folder = Path(tempfile.mkdtemp(prefix="crlm-kg-virtuoso-"))
    sql, http = _free_port(), _free_port()
    (folder / "virtuoso.ini").write_text(INI.format(d=folder, sql=sql, http=http), encoding="utf-8")
    root = os.geteuid() == 0
    if root:
        import pwd
        nobody = pwd.getpwnam("nobody")
        for p in [folder, *folder.iterdir()]:
            os.chown(p, nobody.pw_uid, nobody.pw_gid)
    log = open(folder / "stdout.log", "wb")
    proc = subprocess.Popen(["virtuoso-t", "+foreground", "+configfile", str(folder / "virtuoso.ini")], cwd=folder,
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                            preexec_fn=_as_nobody if root else None)
    url = f"http://127.0.0.1:{http}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail("Virtuoso exited: " + (folder / "virtuoso.log").read_text(errors="replace")[-2000:])
            try:
                if Q.execute_remote(url + "/sparql", "ASK { }", timeout=5).kind == "boolean":
                    break
            except InputError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("Virtuoso did not answer within 120 s")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def loaded(virtuoso, cohort_files):
    """The guideline and the cohort pushed with SPARQL 1.1 Update (Virtuoso's /sparql-auth, Digest auth as dba)."""
    report = P.push(virtuoso + "/sparql-auth", cohort_files, auth=("dba", "dba"))
    assert report.triples == sum(len(t) for t in P.plan(cohort_files).values())
    return virtuoso + "/sparql"


def test_push_loaded_every_graph(loaded, cohort_files):
    planned = P.plan(cohort_files)
    text = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    remote = {row["g"].value: int(row["n"].value) for row in Q.execute_remote(loaded, text).rows}
    for graph, triples in planned.items():
        distinct = len({str(t) for t in triples})
        assert remote.get(graph) == distinct, graph


@pytest.mark.parametrize("name,variant", VARIANTS, ids=[f"{n}-{v}" for n, v in VARIANTS])
def test_library_query_on_virtuoso(name, variant, loaded, ox_store):
    text = Q.bind(LIBRARY[name], params_for(name) if variant == "example" else None)
    local = Q.execute(ox_store, text, where=name)
    remote = Q.execute_remote(loaded, text, where=name)
    if local.kind == "bindings":
        assert remote.variables == local.variables
        assert sorted(set(Q.canonical(remote))) == sorted(set(Q.canonical(local))), f"{name} ({variant}) differs on Virtuoso"
    else:
        assert same_answer(remote, local), f"{name} ({variant}) differs on Virtuoso"


def test_push_with_the_graph_store_protocol(loaded, virtuoso, monkeypatch, capsys):
    """`crlm-kg push --protocol gsp` into one graph, with the password from $CRLM_KG_PASSWORD; then it is removed."""
    from crlm_kg import cli
    if "crlm_kg.query_cli" not in cli.COMMAND_MODULES:
        monkeypatch.setattr(cli, "COMMAND_MODULES", list(cli.COMMAND_MODULES) + ["crlm_kg.query_cli"])
    monkeypatch.setenv("CRLM_KG_PASSWORD", "dba")
    graph = "urn:x-crlm-kg-test:gsp"
    patients = str(paths.EXAMPLES_DIR)
    code = cli.main(["push", "--protocol", "gsp", "--endpoint", virtuoso + "/sparql-graph-crud-auth", "--user", "dba",
                     "--no-guideline", "--graph", graph, "--data", patients])
    assert code == 0 and graph in capsys.readouterr().out
    n = Q.execute_remote(loaded, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}").rows[0]["n"]
    assert int(n.value) == len({str(t) for t in P.plan([patients], graph=graph, guideline=False)[graph]})
    P.push(virtuoso + "/sparql-auth", [], graph=graph, guideline=False, auth=("dba", "dba"))     # replace with nothing
    n = Q.execute_remote(loaded, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}").rows[0]["n"]
    assert int(n.value) == 0


def test_wrong_password_is_one_line_error(virtuoso):
    with pytest.raises(InputError, match="HTTP 401"):
        P.push(virtuoso + "/sparql-auth", [], graph="urn:x-crlm-kg-test:none", guideline=False, auth=("dba", "wrong"))


def test_collected():
    assert len(VARIANTS) >= 60
