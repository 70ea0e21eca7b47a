"""``/mcp`` on a real ``ragkit serve`` on loopback, driven by the official SDK's client over
Streamable HTTP, as an attacker would try it: no key, a key limited to one collection reaching
for the other's file through every tool and resource, a key revoked between two calls, a web
page's foreign Origin; and the audit log holding each call."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.helpers.cli import ragkit
from tests.helpers.servers import Office, create_keys, serving

PUBLIC = "The Skarvøy lighthouse was rebuilt in 1887 by the engineer Maren Tolsvik.\n"
PRIVATE = "Payroll, confidential: the Tolsvik account was paid 48,000 kroner by Nordhavn Shipping in May.\n"
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}}  # fmt: skip


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    root = tmp_path_factory.mktemp("mcp-serve")
    home, docs = root / "home", root / "docs"
    for name, text in (("public", PUBLIC), ("payroll", PRIVATE)):
        (docs / name).mkdir(parents=True)
        (docs / name / f"{name}.txt").write_text(text, encoding="utf-8")
    assert ragkit("index", docs, home=home).code == 0
    for name in ("public", "payroll"):
        assert ragkit("collections", "add", name, docs / name, home=home).code == 0
    keys = create_keys(home, [("admin", []), ("press", ["--collections", "public"]), ("reader", ["--read-only"]),
                              ("temp", [])])  # fmt: skip
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    with serving(home, root, ready=lambda url: httpx.get(url + "/v1/status", headers=admin).status_code == 200) as url:
        yield Office(url, home, docs, keys)


def connect(office: Office, key: str | None, work: Callable[[Client], Awaitable[None]]) -> None:
    headers = {"Authorization": f"Bearer {key}"} if key else {}

    async def run() -> None:
        async with httpx2.AsyncClient(headers=headers, timeout=300) as http:
            async with Client(streamable_http_client(office.url + "/mcp", http_client=http)) as client:
                await work(client)

    anyio.run(run)


async def tool(client: Client, name: str, /, **arguments: Any) -> Any:
    result = await client.call_tool(name, arguments)
    return result.structured_content if not result.is_error else getattr(result.content[0], "text", "error")


def raw(office: Office, key: str | None, **headers: str) -> httpx.Response:
    sent = {"Accept": "application/json, text/event-stream", **headers}
    if key:
        sent["Authorization"] = f"Bearer {key}"
    return httpx.post(office.url + "/mcp", json=INIT, headers=sent, timeout=60)


def test_no_key_or_a_wrong_key_is_refused_before_any_tool(office: Office) -> None:
    for key in (None, "rk_wrong"):
        assert raw(office, key).status_code == 401
        with pytest.raises(Exception):  # noqa: B017 (the SDK's client raises its transport's error)
            connect(office, key, lambda client: client.list_tools())
    assert raw(office, office.keys["admin"]).status_code == 200


def test_a_key_limited_to_one_collection_never_sees_the_other(office: Office) -> None:
    payroll = str(office.docs / "payroll" / "payroll.txt")
    public = str(office.docs / "public" / "public.txt")
    seen: dict[str, Any] = {}

    async def work(client: Client) -> None:
        seen["search"] = await tool(client, "search", query="Tolsvik account paid kroner", k=10)
        seen["find"] = await tool(client, "find", query="Tolsvik")
        seen["ask"] = await tool(client, "ask", question="How much was the Tolsvik account paid?", mode="extract")
        seen["passage"] = await tool(client, "passage", path=payroll, start=0, end=20)
        seen["each"] = await tool(client, "ask_each", question="Who was paid?", query="Tolsvik OR kroner OR paid")
        seen["other collection"] = await tool(client, "search", query="kroner", collection="payroll")
        public_dir = str(office.docs / "public")
        seen["attacks"] = [  # typed filters, wildcards, fuzzy terms and paths that climb out of the collection
            await tool(client, "search", query='kroner path:"*payroll*"'),
            await tool(client, "search", query="kroner", path=["*"], type=["txt"]),
            await tool(client, "find", query="kron* OR nordhavn~2 OR confidential"),
            await tool(client, "passage", path=public_dir + "/../payroll/payroll.txt", start=0, end=7),
            await tool(client, "passage", path=public_dir + "//..//payroll/payroll.txt", start=0, end=7),
            await tool(client, "entity_mentions", name="Nordhavn Shipping"),
            await tool(client, "thread", message=payroll),
        ]
        seen["status"] = await tool(client, "status")
        seen["resources"] = [r.title for r in (await client.list_resources()).resources]
        with pytest.raises(Exception, match="not an indexed file"):
            await client.read_resource("ragkit://doc/" + payroll.replace("/", "%2F"))

    connect(office, office.keys["press"], work)
    assert "payroll" not in json.dumps(seen["search"]) + json.dumps(seen["find"]) + json.dumps(seen["ask"])
    assert "48,000" not in json.dumps(seen) and "Nordhavn" not in json.dumps(seen["attacks"][:2])
    fuzzy = {k: v for k, v in seen["attacks"][2].items() if k != "query"}  # (the query itself is echoed)
    assert fuzzy["total"] == 0 and fuzzy["expansions"] == {"nordhavn~2": []}  # not even the other's words
    assert all("Payroll" not in json.dumps(found) for found in seen["attacks"][3:])
    assert seen["find"]["files"] == [{"path": public, "count": 1}]  # its own collection's file, found
    assert [row["path"] for row in seen["each"]["rows"]] == [public]
    assert seen["passage"] == f"Error executing tool passage: {payroll} is not an indexed file"
    assert "may not read the collection 'payroll'" in seen["other collection"]
    assert seen["status"]["collections"] == ["public"] and seen["status"]["files"] == 1
    assert seen["resources"] == [public]

    async def everything(client: Client) -> None:  # the same calls with a key for all: the file is there
        seen["admin"] = await tool(client, "find", query="Tolsvik")
        seen["admin passage"] = await tool(client, "passage", path=payroll, start=0, end=7)

    connect(office, office.keys["admin"], everything)
    assert {f["path"] for f in seen["admin"]["files"]} == {payroll, public}
    assert seen["admin passage"]["span"] == "Payroll"


def test_a_read_only_key_calls_every_tool(office: Office) -> None:
    async def work(client: Client) -> None:
        for name, arguments in (("search", {"query": "lighthouse"}), ("find", {"query": "lighthouse"}),
                                ("status", {}), ("entities", {}),
                                ("ask", {"question": "Who rebuilt the lighthouse?", "mode": "extract"})):  # fmt: skip
            result = await client.call_tool(name, arguments)
            assert not result.is_error, (name, result.content)

    connect(office, office.keys["reader"], work)


def test_a_revoked_key_is_refused_at_once(office: Office) -> None:
    async def work(client: Client) -> None:
        assert (await tool(client, "find", query="lighthouse"))["total"] == 1
        revoked = await anyio.to_thread.run_sync(lambda: ragkit("keys", "revoke", "temp", home=office.home))
        assert revoked.code == 0
        with pytest.raises(Exception):  # noqa: B017 (the next request of the same client: 401)
            await client.call_tool("find", {"query": "lighthouse"})

    connect(office, office.keys["temp"], work)
    assert raw(office, office.keys["temp"]).status_code == 401


def test_a_foreign_origin_or_host_is_refused(office: Office) -> None:
    key = office.keys["admin"]
    assert raw(office, key, Origin="http://attacker.example").status_code == 403
    assert raw(office, key, Host="attacker.example").status_code == 403  # DNS rebinding: another name
    assert raw(office, key, Origin=office.url).status_code == 200  # the server's own page


def test_the_audit_log_holds_each_call(office: Office) -> None:
    async def work(client: Client) -> None:
        await tool(client, "search", query="audited lighthouse")
        await tool(client, "passage", path="/etc/shadow", start=0, end=4)

    connect(office, office.keys["press"], work)
    lines = (office.home / "audit" / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    calls = [json.loads(line) for line in lines if '"mcp": "tools/call"' in line]
    mine = [c for c in calls if c["key"] == "press"][-2:]
    assert [c["tool"] for c in mine] == ["search", "passage"]
    assert "error" not in mine[0] and "not an indexed file" in mine[1]["error"]
    assert mine[0]["arguments"]["query"] == "audited lighthouse"  # what was asked, and what it gave
    assert mine[0]["files"] == [str(office.docs / "public" / "public.txt")]
    assert office.keys["press"] not in "\n".join(lines)
