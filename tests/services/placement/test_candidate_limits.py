"""`limit` bounds the work: only one batch of trees is read, whatever the cloud's size."""

from __future__ import annotations

from novalite.services.placement import candidate_api
from novalite.services.placement.microversion import MAX_VERSION
from novalite.services.placement.objects import candidates, inventories, providers
from tests.services.placement.helpers import new_uuid


async def test_limit_reads_one_batch_of_trees(sessionmaker):
    async with sessionmaker.begin() as s:
        for i in range(250):
            rp = await providers.create(s, new_uuid(), f"cn{i}")
            await inventories.replace_all(s, rp, 0, {"VCPU": {"total": 4}, "MEMORY_MB": {"total": 1024}})

    async def find(params: list[tuple[str, str]]) -> candidates.CandidateResult:
        request = candidate_api.parse(params, MAX_VERSION)
        async with sessionmaker() as s:
            return await candidates.find(s, request)

    limited = await find([("resources", "VCPU:1,MEMORY_MB:64"), ("limit", "3")])
    assert len(limited.candidates) == 3
    assert len(limited.data.uuid) <= 100          # one batch, not the 250 providers
    assert len(limited.summary_ids) == 3
    everything = await find([("resources", "VCPU:1,MEMORY_MB:64")])
    assert len(everything.candidates) == 250 and len(everything.data.uuid) == 250
    none_fit = await find([("resources", "VCPU:5")])
    assert none_fit.candidates == [] and none_fit.data.uuid == {}
