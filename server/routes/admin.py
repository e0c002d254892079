"""Tenants and API keys: the admin key only."""

from __future__ import annotations

from server.api import Call
from server.routes._api import api
from server.schemas import KeyCreate, KeyOut, TenantCreate, TenantOut


@api.route("POST", "/v1/admin/tenants", summary="Create a tenant and its first key",
           tag="admin", auth="admin", body=TenantCreate, response=TenantOut, status=201,
           errors=(409,))
async def create_tenant(call: Call) -> TenantOut:
    return await call.services.tenants.create(call.body.name)


@api.route("GET", "/v1/admin/tenants", summary="List tenants", tag="admin", auth="admin",
           response=list[TenantOut])
async def list_tenants(call: Call) -> list[TenantOut]:
    return await call.services.tenants.list()


@api.route("POST", "/v1/admin/tenants/{tenant_id}/keys", summary="Create another key",
           tag="admin", auth="admin", body=KeyCreate, response=KeyOut, status=201, errors=(404,))
async def create_key(call: Call) -> KeyOut:
    return await call.services.tenants.create_key(call.params["tenant_id"], call.body.name)


@api.route("GET", "/v1/admin/tenants/{tenant_id}/keys", summary="List a tenant's keys",
           tag="admin", auth="admin", response=list[KeyOut])
async def list_keys(call: Call) -> list[KeyOut]:
    return await call.services.tenants.list_keys(call.params["tenant_id"])


@api.route("DELETE", "/v1/admin/keys/{key_id}", summary="Revoke a key", tag="admin",
           auth="admin", response=KeyOut, errors=(404,))
async def revoke_key(call: Call) -> KeyOut:
    out = await call.services.tenants.revoke_key(call.params["key_id"])
    call.services.keys.forget()
    return out
