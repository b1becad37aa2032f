"""The pinned Prefect server and client understand each other (the server rejects some client
calls with newer FastAPI releases; see the pin in pyproject.toml)."""

import asyncio

import pytest

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_the_client_can_list_flows_runs_and_deployments():
    from prefect.client.orchestration import get_client

    async def listing() -> tuple[list, list, list]:
        async with get_client() as client:
            return await client.read_flows(), await client.read_flow_runs(), await client.read_deployments()

    flows, runs, deployments = asyncio.run(listing())
    assert isinstance(flows, list) and isinstance(runs, list) and isinstance(deployments, list)
