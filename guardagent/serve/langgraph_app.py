"""The same guarded graph for LangGraph Server / LangGraph Platform (``langgraph dev|up``).

``integrations/langgraph/langgraph.json`` points at :data:`graph` here. LangGraph Server
brings its own persistence (it injects a checkpointer), threads and run API, so the graph is
compiled without a checkpointer; verification interrupts are resumed with the platform's own
``Command(resume={"approved": true|false, "note": ...})``. The model, tools and policy come
from the same service config as ``guardagent serve``, named by ``GUARDAGENT_SERVE_CONFIG``
(unset: the scripted demo agent with the demo tools under the demo policy).
"""

from __future__ import annotations

import os

from guardagent.serve import runtime
from guardagent.serve.config import ServeConfig

CONFIG_ENV = "GUARDAGENT_SERVE_CONFIG"


def make_graph(config_path: str | None = None):
    path = config_path or os.environ.get(CONFIG_ENV)
    cfg = ServeConfig.load(path) if path else ServeConfig()
    runtime.run_imports(cfg)
    from guardagent.graph import build_guarded_graph

    return build_guarded_graph(runtime.build_model(cfg), runtime.build_tools(cfg), runtime.build_policy(cfg),
                               checkpointer=None, system_prompt=cfg.system_prompt)


graph = make_graph()
