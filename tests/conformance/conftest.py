"""Where the conformance suite runs: a real instance when ``SESAME_SN_*`` are set, else a sandbox started here.

Real instance: ``SESAME_SN_URL`` (``https://dev12345.service-now.com``), ``SESAME_SN_USER``, ``SESAME_SN_PASSWORD``
and optionally ``SESAME_SN_CA_FILE``. The account needs the ``itil`` role (read/write/delete incidents, read
``sys_journal_field``, ``sys_choice`` and ``sys_user``). Tests only touch records they create, tagged with a
unique marker in ``short_description``, and delete them afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pysnc
import pytest
from pysnc.exceptions import NotFoundException

from sandbox.scenario import DirectoryUser, Scenario
from sandbox.servicenow import TableStore, seed_store
from sandbox.tls import TlsFiles
from tests.fixtures.fleet import serve_servicenow

ENV_URL, ENV_USER, ENV_PASSWORD, ENV_CA = "SESAME_SN_URL", "SESAME_SN_USER", "SESAME_SN_PASSWORD", "SESAME_SN_CA_FILE"
REAL_INSTANCE = all(os.environ.get(name) for name in (ENV_URL, ENV_USER, ENV_PASSWORD))
SANDBOX_USER, SANDBOX_PASSWORD = "conformance.bot", "conformance-only-password"
# One caller besides the bot, so the sandbox has a sys_user that is not the authenticated account.
TINY_SCENARIO = Scenario(
    partners=(),
    users=(
        DirectoryUser(
            sam="jdupont",
            upn="jdupont@conformance.test",
            mail="jeanne.dupont@conformance.test",
            given_name="Jeanne",
            surname="Dupont",
            org_id="conformance",
            ou="OU=Utilisateurs,DC=conformance,DC=test",
        ),
    ),
    emails=(),
    tickets=(),
)


@dataclass(frozen=True)
class Target:
    """The instance under test and the account the suite uses."""

    url: str
    user: str
    password: str
    verify: str | bool
    is_sandbox: bool

    def client(self, password: str | None = None) -> pysnc.ServiceNowClient:
        """A pysnc client with its defaults (retries included), as a bot would build it."""
        credentials = (self.user, self.password if password is None else password)
        return pysnc.ServiceNowClient(self.url, credentials, verify=self.verify)


@pytest.fixture(scope="session")
def servicenow(request: pytest.FixtureRequest) -> Iterator[Target]:
    """The real instance from the environment, or a sandbox on 127.0.0.1 for the whole session."""
    if REAL_INSTANCE:
        verify: str | bool = os.environ.get(ENV_CA) or True
        yield Target(os.environ[ENV_URL].rstrip("/"), os.environ[ENV_USER], os.environ[ENV_PASSWORD], verify, False)
        return
    tls: TlsFiles = request.getfixturevalue("sandbox_tls")  # only made when the sandbox is the target
    store = TableStore()
    seed_store(store, TINY_SCENARIO, bot_user=SANDBOX_USER)
    with serve_servicenow(tls, store, users={SANDBOX_USER: SANDBOX_PASSWORD}) as served:
        yield Target(served.url, SANDBOX_USER, SANDBOX_PASSWORD, str(served.ca_file), True)


@pytest.fixture
def client(servicenow: Target) -> Iterator[pysnc.ServiceNowClient]:
    """A fresh pysnc client for one test."""
    client = servicenow.client()
    yield client
    client.session.close()


def _marker() -> str:
    return f"sesame-conformance-{uuid.uuid4().hex[:12]}"


def delete_marked(servicenow: Target, marker: str) -> None:
    """Delete every incident whose short_description starts with ``marker`` (what a test created)."""
    cleaner = servicenow.client()
    try:
        leftovers = cleaner.GlideRecord("incident")
        leftovers.fields = ["sys_id"]
        leftovers.add_query("short_description", "STARTSWITH", marker)
        leftovers.query()
        sys_ids = [str(record.sys_id) for record in leftovers]
        for sys_id in sys_ids:
            doomed = cleaner.GlideRecord("incident")
            try:
                if doomed.get(sys_id):
                    doomed.delete()
            except NotFoundException:
                pass  # the test deleted it already
    finally:
        cleaner.session.close()


IncidentFactory = Callable[..., str]


@dataclass
class Marked:
    """A test's marker and a factory of incidents tagged with it."""

    marker: str
    create: IncidentFactory


def _factory(client: pysnc.ServiceNowClient, marker: str) -> IncidentFactory:
    def create(label: str = "", **fields: str) -> str:
        record = client.GlideRecord("incident")
        record.initialize()
        record.short_description = f"{marker} {label}".strip()
        for name, value in fields.items():
            record.set_value(name, value)
        sys_id = record.insert()
        assert sys_id, f"insert of incident {label!r} returned no sys_id"
        return str(sys_id)

    return create


@pytest.fixture
def marked(servicenow: Target, client: pysnc.ServiceNowClient) -> Iterator[Marked]:
    """Incidents for one test; every incident carrying its marker is deleted afterwards."""
    marker = _marker()
    yield Marked(marker, _factory(client, marker))
    delete_marked(servicenow, marker)


@pytest.fixture(scope="module")
def module_marked(servicenow: Target) -> Iterator[Marked]:
    """Like ``marked``, shared by a module's read-only tests (one data set for a whole operator table)."""
    marker = _marker()
    client = servicenow.client()
    yield Marked(marker, _factory(client, marker))
    client.session.close()
    delete_marked(servicenow, marker)
