"""Deployment files: langgraph.json points at a graph that runs; compose and config are coherent."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import yaml
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

sys.path.insert(0, str(Path(__file__).parent))

import serve_support  # noqa: E402,F401  (registers the serve_kw screen)

from guardagent.serve.config import ServeConfig  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LG = ROOT / "integrations" / "langgraph" / "langgraph.json"
SERVE = ROOT / "integrations" / "serve"


def test_langgraph_json_graph_runs_with_a_platform_checkpointer(tmp_path, monkeypatch):
    spec = json.loads(LG.read_text())
    target = spec["graphs"]["guardagent"]
    file_part, attr = target.rsplit(":", 1)
    module_path = (LG.parent / file_part).resolve()
    assert module_path == ROOT / "guardagent" / "serve" / "langgraph_app.py" and attr == "graph"
    assert (LG.parent / spec["dependencies"][0]).resolve() == ROOT
    assert (LG.parent / spec["env"]["GUARDAGENT_SERVE_CONFIG"]).resolve() == SERVE / "serve.yaml"

    cfg = tmp_path / "serve.json"
    cfg.write_text(json.dumps(serve_support.config_dict("sqlite:///unused.db")))
    monkeypatch.setenv("GUARDAGENT_SERVE_CONFIG", str(cfg))
    mod_spec = importlib.util.spec_from_file_location("ga_langgraph_app_under_test", module_path)
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    graph = getattr(module, attr)
    assert graph.checkpointer is None  # LangGraph Server injects its own
    graph.checkpointer = InMemorySaver()
    conf = {"configurable": {"thread_id": "lg-1"}}
    out = graph.invoke({"messages": [HumanMessage("transfer 3 EUR to Bob")]}, conf)
    assert out["__interrupt__"][0].value["tool_name"] == "send_money"
    done = graph.invoke(Command(resume={"approved": True, "note": None}), conf)
    assert done["status"] == "completed" and done["messages"][-2].content == "Transfer completed."


def test_example_serve_config_is_valid():
    cfg = ServeConfig.load(SERVE / "serve.yaml")
    assert cfg.model.kind == "scripted" and cfg.tools == ["demo"] and cfg.host == "0.0.0.0"


def test_compose_file_is_coherent():
    compose = yaml.safe_load((SERVE / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "guardagent-a", "guardagent-b"} <= set(services)
    for name in ("guardagent-a", "guardagent-b"):
        svc = services[name]
        build = svc["build"]
        assert (SERVE / build["context"] / build["dockerfile"]).resolve() == SERVE / "Dockerfile"
        assert svc["environment"]["GUARDAGENT_DB"].startswith("postgresql://")
        assert svc["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert all(p.startswith("127.0.0.1:") for p in svc["ports"])  # not exposed beyond the host
    dockerfile = (SERVE / "Dockerfile").read_text()
    for src in ("pyproject.toml", "README.md", "guardagent", "integrations/serve/serve.yaml"):
        assert src in dockerfile and (ROOT / src.split()[0]).exists(), src


@pytest.mark.parametrize("doc", ["docs/serve.md"])
def test_api_doc_covers_every_route(doc):
    from guardagent.serve import create_app

    text = (ROOT / doc).read_text()
    app = create_app(ServeConfig())
    routes = {(m, r.path) for r in app.routes for m in getattr(r, "methods", ()) or ()
              if r.path.startswith(("/v1", "/healthz", "/readyz", "/metrics"))}
    for method, path in sorted(routes):
        assert f"{method} {path}" in text, f"{method} {path} is not documented in {doc}"
