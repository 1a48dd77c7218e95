"""The client's tool arguments against the server's /api/schema/ (issue 19): same parameter names
(inputs renamed on purpose, listed in rasterlab_client.tools.TOOLS), same defaults, same required
ones, and a tool for every public job kind; a change on either side fails here."""
from __future__ import annotations

import inspect
from typing import Any

from rasterlab_client import Rasterlab
from rasterlab_client.tools import TOOLS, UNWRAPPED

CLIENT_ONLY = {"self", "wait"}


def _resolve(components: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref") or (node.get("allOf") or [{}])[0].get("$ref")
    return components[ref.rsplit("/", 1)[1]] if ref else node


def job_params_schemas(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{kind: the params schema} from the request body of POST /api/jobs/."""
    components = schema["components"]["schemas"]
    body = schema["paths"]["/api/jobs/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    union = _resolve(components, body)
    assert union["discriminator"]["propertyName"] == "kind"
    out = {}
    for kind, ref in union["discriminator"]["mapping"].items():
        request = components[ref.rsplit("/", 1)[1]]
        out[kind] = _resolve(components, request["properties"]["params"])
    return out


def test_every_public_job_kind_has_a_tool(rl):
    kinds = set(job_params_schemas(rl.schema()))
    missing = kinds - set(TOOLS) - set(UNWRAPPED)
    assert not missing, f"job kinds without a client tool (add one, or list them in tools.UNWRAPPED): {missing}"
    assert set(TOOLS) <= kinds, f"tools for kinds the server does not have: {set(TOOLS) - kinds}"


def test_tool_arguments_and_defaults_are_the_schemas(rl):
    schemas = job_params_schemas(rl.schema())
    problems: list[str] = []
    for name, tool in TOOLS.items():
        schema = schemas[tool.kind]
        properties, required = schema["properties"], set(schema.get("required", []))
        signature = inspect.signature(getattr(Rasterlab, name))
        arguments = {tool.renamed.get(p.name, p.name): p for p in signature.parameters.values()
                     if p.name not in CLIENT_ONLY and p.kind is not inspect.Parameter.VAR_KEYWORD}
        expected = set(properties) - set(tool.hidden) - ({"arguments"} if tool.model_arguments else set())
        # one argument for in_raster / in_rasters / in_collection (by the type of what is given)
        expected -= {alt for primary, alts in tool.alternatives.items() if primary in arguments for alt in alts}
        if set(arguments) != expected:
            problems.append(f"{name}: client has {sorted(set(arguments) - expected)} the schema lacks; schema has "
                            f"{sorted(expected - set(arguments))} the client lacks")
        has_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values())
        if has_kwargs != tool.model_arguments:
            problems.append(f"{name}: **arguments (the model's) iff the kind takes params.arguments")
        for key, parameter in arguments.items():
            if key not in properties:
                continue
            client_default = None if parameter.default is inspect.Parameter.empty else parameter.default
            if key in required and key not in tool.client_fills:
                if parameter.default is not inspect.Parameter.empty:
                    problems.append(f"{name}({parameter.name}): required by the server, optional in the client")
                continue
            server_default = properties[key].get("default")
            if client_default != server_default:
                problems.append(f"{name}({parameter.name}={client_default!r}): the server's default is "
                                f"{server_default!r}")
    assert not problems, "\n".join(problems)
