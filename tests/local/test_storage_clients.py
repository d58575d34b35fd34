"""Storage clients against Azurite, including one started without --skipApiVersionCheck."""

from __future__ import annotations

from local.azurite import AZURITE_BIN, INSTALL_HINT, Azurite
from shared.storage.clients import queue_client, table_service
from tests.conftest import require


def test_queue_and_table_clients_work_with_a_strict_azurite() -> None:
    require(AZURITE_BIN.exists(), INSTALL_HINT)
    with Azurite(skip_api_version_check=False) as strict:
        queue = queue_client(strict.connection_string, "strict-check")
        queue.create_queue()
        queue.send_message('{"ref": 1}')
        assert [m.content for m in queue.receive_messages(max_messages=1)] == ['{"ref": 1}']
        table_service(strict.connection_string).create_table_if_not_exists("strictcheck")
        assert [t.name for t in table_service(strict.connection_string).list_tables()] == ["strictcheck"]


def test_queue_bodies_are_base64_on_the_wire(azurite: str) -> None:
    queue_client(azurite, "wire-check").create_queue()
    queue_client(azurite, "wire-check").send_message('{"a":1}')
    raw = queue_client(azurite, "wire-check", base64=False).peek_messages(max_messages=1)
    assert [m.content for m in raw] == ["eyJhIjoxfQ=="]
