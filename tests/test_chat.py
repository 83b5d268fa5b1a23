"""guardagent.chat: Qwen chat format, turn parsing, the transformers chat model, loading."""

from __future__ import annotations

import json
import os

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
torch.set_num_threads(1)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage  # noqa: E402
from langchain_core.tools import tool  # noqa: E402

from guardagent.chat import (  # noqa: E402
    ChatModelError,
    Engine,
    Generation,
    Transcript,
    TransformersChatModel,
    load_policy_model,
    parse_turn,
    render_chat,
    render_continuation,
)
from guardagent.chat.template import TAGS  # noqa: E402

# Qwen2.5-Instruct's chat template (tool-calling part), as shipped in its tokenizer_config.json.
QWEN25_TEMPLATE = (
    "{%- if tools %}\n    {{- '<|im_start|>system\\n' }}\n    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- messages[0]['content'] }}\n    {%- else %}\n"
    "        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}\n    {%- endif %}\n"
    "    {{- \"\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\n"
    "You are provided with function signatures within <tools></tools> XML tags:\\n<tools>\" }}\n"
    "    {%- for tool in tools %}\n        {{- \"\\n\" }}\n        {{- tool | tojson }}\n    {%- endfor %}\n"
    "    {{- \"\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments "
    "within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\\"name\\\": <function-name>, \\\"arguments\\\": "
    "<args-json-object>}\\n</tool_call><|im_end|>\\n\" }}\n"
    "{%- else %}\n    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n    {%- else %}\n"
    "        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}\n"
    "    {%- endif %}\n{%- endif %}\n"
    "{%- for message in messages %}\n"
    "    {%- if (message.role == \"user\") or (message.role == \"system\" and not loop.first) or "
    "(message.role == \"assistant\" and not message.tool_calls) %}\n"
    "        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n"
    "    {%- elif message.role == \"assistant\" %}\n        {{- '<|im_start|>' + message.role }}\n"
    "        {%- if message.content %}\n            {{- '\\n' + message.content }}\n        {%- endif %}\n"
    "        {%- for tool_call in message.tool_calls %}\n            {%- if tool_call.function is defined %}\n"
    "                {%- set tool_call = tool_call.function %}\n            {%- endif %}\n"
    "            {{- '\\n<tool_call>\\n{\"name\": \"' }}\n            {{- tool_call.name }}\n"
    "            {{- '\", \"arguments\": ' }}\n            {{- tool_call.arguments | tojson }}\n"
    "            {{- '}\\n</tool_call>' }}\n        {%- endfor %}\n        {{- '<|im_end|>\\n' }}\n"
    "    {%- elif message.role == \"tool\" %}\n"
    "        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != \"tool\") %}\n"
    "            {{- '<|im_start|>user' }}\n        {%- endif %}\n"
    "        {{- '\\n<tool_response>\\n' }}\n        {{- message.content }}\n        {{- '\\n</tool_response>' }}\n"
    "        {%- if loop.last or (messages[loop.index0 + 1].role != \"tool\") %}\n"
    "            {{- '<|im_end|>\\n' }}\n        {%- endif %}\n    {%- endif %}\n{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n{%- endif %}\n"
)

TOOLS = [
    {"type": "function", "function": {"name": "get_balance", "description": "Get account balances.",
                                      "parameters": {"type": "object", "properties": {"account": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "transfer_money", "description": "Move money.",
                                      "parameters": {"type": "object", "properties": {"to": {"type": "string"},
                                                                                     "amount": {"type": "number"}}}}},
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from guardagent.training.tiny import build_tiny_qwen2, save, train_tokenizer

    texts = [render_chat([HumanMessage("what is my balance? pay Ana 40 euro")], TOOLS, system="be careful")] * 3
    texts += ['<think>ok</think>\n<tool_call>\n{"name": "get_balance", "arguments": {"account": "checking"}}\n</tool_call>']
    tok = train_tokenizer(texts, vocab_size=400, min_frequency=1)
    model = build_tiny_qwen2(tok, hidden_size=32, layers=1, heads=2, kv_heads=1, intermediate_size=64)
    path = save(model, tok, tmp_path_factory.mktemp("tiny") / "model")
    return model, tok, path


def test_render_matches_qwen25_template(tiny):
    _, tok, _ = tiny
    msgs = [
        {"role": "system", "content": "You guard things."},
        {"role": "user", "content": "Balance and pay Ana 40?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "get_balance", "arguments": {"account": "checking"}}},
            {"type": "function", "function": {"name": "transfer_money", "arguments": {"to": "Ana", "amount": 40}}}]},
        {"role": "tool", "content": "1520 EUR"},
        {"role": "tool", "content": "ok"},
        {"role": "assistant", "content": "Done: the balance is 1520 EUR."},
        {"role": "user", "content": "thanks"},
    ]
    expected = tok.apply_chat_template(msgs, tools=TOOLS, chat_template=QWEN25_TEMPLATE, tokenize=False,
                                       add_generation_prompt=True)
    assert render_chat(msgs, TOOLS) == expected
    # without tools, and with the default system prompt
    plain = [{"role": "user", "content": "hi"}]
    assert render_chat(plain, None) == tok.apply_chat_template(
        plain, chat_template=QWEN25_TEMPLATE, tokenize=False, add_generation_prompt=True)


def test_continuation_is_the_suffix_of_the_full_render():
    msgs = [SystemMessage("sys"), HumanMessage("hi"),
            AIMessage("", tool_calls=[{"name": "get_balance", "args": {}, "id": "c1"}]),
            ToolMessage("1520 EUR", tool_call_id="c1")]
    full = render_chat(msgs, TOOLS)
    head = render_chat(msgs[:2], TOOLS) + '<tool_call>\n{"name": "get_balance", "arguments": {}}\n</tool_call><|im_end|>'
    assert head + render_continuation(msgs[3:]) == full


def test_parse_turn_tool_call_check_and_think():
    t = parse_turn('<think>sensitive, ask</think>\n<tool_check>moving money</tool_check>\n'
                   '<tool_call>\n{"name": "transfer_money", "arguments": {"to": "Ana", "amount": 40}}\n</tool_call>',
                   tool_names=["transfer_money"])
    assert t.problems == []
    assert t.reasoning == "sensitive, ask"
    assert t.tool_check == "moving money"
    assert [(c["name"], c["args"]) for c in t.tool_calls] == [("transfer_money", {"to": "Ana", "amount": 40})]
    assert t.content == ""
    msg = t.to_message()
    assert msg.additional_kwargs["tool_check"] == "moving money"
    assert msg.additional_kwargs["reasoning"] == "sensitive, ask"
    assert "think" not in msg.content and msg.tool_calls[0]["name"] == "transfer_money"


def test_parse_turn_reports_format_problems():
    assert "tool call is not valid JSON" in parse_turn("<tool_call>{nope</tool_call>").problems
    bad = parse_turn("<tool_call>{nope</tool_call>")
    assert bad.tool_calls == [] and bad.invalid_tool_calls and bad.invalid_tool_calls[0]["error"].startswith("invalid JSON")
    assert any("unbalanced" in p for p in parse_turn("<think>never closed").problems)
    assert "unknown tool 'rm'" in parse_turn('<tool_call>{"name": "rm", "arguments": {}}</tool_call>', tool_names=["ls"]).problems
    assert "empty turn" in parse_turn("<think>x</think>").problems
    assert "garbled text" in parse_turn("the the the the the the the").problems
    assert "text outside the tags of a tool-calling turn" in parse_turn(
        'sure! <tool_call>{"name": "ls", "arguments": {}}</tool_call>').problems
    ok = parse_turn("<think>fine</think>\nHello there.")
    assert ok.problems == [] and ok.content == "Hello there."


def test_tags_are_single_ordinary_tokens(tiny):
    _, tok, _ = tiny
    for tag in TAGS:
        ids = tok(tag, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1
        assert tok.decode(ids, skip_special_tokens=True) == tag
    assert tok.decode(tok("<|im_end|>", add_special_tokens=False)["input_ids"], skip_special_tokens=True) == ""


def test_chat_model_generates_parses_and_binds_tools(tiny):
    model, tok, _ = tiny
    chat = TransformersChatModel.from_model(model, tok, max_new_tokens=8)

    @tool
    def get_balance(account: str) -> str:
        """Get account balances."""
        return "1520"

    bound = chat.bind_tools([get_balance])
    assert bound.tools[0]["function"]["name"] == "get_balance" and chat.tools == []
    out = bound.invoke([HumanMessage("balance?")])
    assert isinstance(out, AIMessage)
    assert out.response_metadata["finish_reason"] in ("stop", "length")
    assert 1 <= out.usage_metadata["output_tokens"] <= 8
    # batched: one padded generate for all inputs, results in order
    outs = chat.batch([[HumanMessage("a")], [HumanMessage("a much longer question about money")]])
    assert len(outs) == 2 and all(isinstance(o, AIMessage) for o in outs)


def test_model_output_is_parsed_into_tool_calls(tiny):
    model, tok, _ = tiny
    chat = TransformersChatModel.from_model(model, tok).bind_tools(TOOLS)
    text = '<think>fine</think>\n<tool_call>\n{"name": "get_balance", "arguments": {"account": "checking"}}\n</tool_call>'
    ids = chat.engine.encode(text) + [chat.engine.end_of_turn_id]
    msg = chat._to_message(Generation(ids=ids, logprobs=[0.0] * len(ids), finished=True), chat.tools, 10)
    assert msg.tool_calls[0]["args"] == {"account": "checking"}
    assert msg.additional_kwargs["reasoning"] == "fine" and msg.content == ""


def test_engine_batches_concurrent_requests(tiny):
    import threading

    model, tok, _ = tiny
    eng = Engine(model, tok, wait_s=2.0)
    eng.expected = 3
    sizes = []
    real = eng.generate

    def spy(prompts, opts):
        sizes.append(len(prompts))
        return real(prompts, opts)

    eng.generate = spy
    from guardagent.chat import GenOptions

    res = [None] * 3

    def go(i):
        res[i] = eng.submit(eng.encode("hello " * (i + 1)), GenOptions(max_new_tokens=3))

    ths = [threading.Thread(target=go, args=(i,)) for i in range(3)]
    [t.start() for t in ths]
    [t.join() for t in ths]
    assert sizes == [3]
    assert all(r is not None and 1 <= len(r.ids) <= 3 for r in res)


def test_transcript_masks_environment_tokens(tiny):
    model, tok, _ = tiny
    eng = Engine(model, tok)
    tr = Transcript()
    msgs = [SystemMessage("s"), HumanMessage("hi")]
    ctx = tr.context(eng, msgs, TOOLS, None)
    assert ctx == tr.prompt_ids and tr.completion_ids == []
    gen_ids = eng.encode("<tool_call>\n{\"name\": \"get_balance\", \"arguments\": {}}\n</tool_call>") + [eng.end_of_turn_id]
    tr.add_turn(eng, Generation(gen_ids, [-0.5] * len(gen_ids), True), len(msgs), "x")
    msgs += [AIMessage("", tool_calls=[{"name": "get_balance", "args": {}, "id": "c"}]), ToolMessage("1520", tool_call_id="c")]
    ctx2 = tr.context(eng, msgs, TOOLS, None)
    env = eng.encode(render_continuation(msgs[3:]))
    assert tr.completion_ids == gen_ids + env
    assert tr.mask == [1] * len(gen_ids) + [0] * len(env)
    assert tr.logprobs[: len(gen_ids)] == [-0.5] * len(gen_ids) and set(tr.logprobs[len(gen_ids):]) == {0.0}
    assert ctx2 == tr.prompt_ids + tr.completion_ids


def test_from_pretrained_errors_name_the_path_and_problem(tmp_path, tiny):
    with pytest.raises(ChatModelError, match="does not exist"):
        TransformersChatModel.from_pretrained(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ChatModelError, match=r"empty has no config.json"):
        TransformersChatModel.from_pretrained(empty)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    with pytest.raises(ChatModelError, match="config.json is not valid JSON"):
        TransformersChatModel.from_pretrained(broken)
    _, _, good = tiny
    noweights = tmp_path / "noweights"
    noweights.mkdir()
    (noweights / "config.json").write_text((good / "config.json").read_text())
    with pytest.raises(ChatModelError, match="no weights"):
        TransformersChatModel.from_pretrained(noweights)
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    for f in good.iterdir():
        (corrupt / f.name).write_bytes(f.read_bytes())
    (corrupt / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ChatModelError, match=r"cannot load the model from .*corrupt"):
        TransformersChatModel.from_pretrained(corrupt)
    with pytest.raises(ChatModelError, match="adapter not found"):
        TransformersChatModel.from_pretrained(good, adapter=tmp_path / "nope")
    with pytest.raises(ChatModelError, match="not a policy model"):
        load_policy_model(empty)


def test_adapter_loads_and_runs_in_the_guarded_graph(tiny, tmp_path):
    from peft import LoraConfig, get_peft_model

    from guardagent.graph import build_guarded_graph
    from guardagent.training.sandbox import PassThroughScreen
    from guardagent.screening import Guard
    from guardagent.policy import GuardPolicy
    from guardagent.taxonomy import Source

    model, tok, base = tiny
    peft = get_peft_model(model, LoraConfig(r=2, target_modules=["q_proj", "v_proj"], modules_to_save=["lm_head"]))
    adapter = tmp_path / "adapter"
    peft.save_pretrained(adapter)
    tok.save_pretrained(adapter)
    cfg = json.loads((adapter / "adapter_config.json").read_text())
    cfg["base_model_name_or_path"] = str(base)
    (adapter / "adapter_config.json").write_text(json.dumps(cfg))
    (tmp_path / "policy.json").write_text(json.dumps({"base": str(base), "adapter": "adapter", "max_new_tokens": 6}))
    chat = load_policy_model(tmp_path)
    assert chat.max_new_tokens == 6
    assert type(chat.engine.model).__name__ == "PeftModel"

    @tool
    def get_balance(account: str = "checking") -> str:
        """Get account balances."""
        return "1520"

    guard = Guard(GuardPolicy(), screens={s: PassThroughScreen() for s in Source})
    graph = build_guarded_graph(chat, [get_balance], guard=guard, checkpointer="memory")
    state = graph.invoke({"messages": [("user", "balance?")]}, {"configurable": {"thread_id": "t"}, "recursion_limit": 30})
    assert state["status"] in ("completed", "awaiting_verification")
    assert isinstance(state["messages"][-1], (AIMessage, ToolMessage))
    # and the adapter directory alone is enough (base read from adapter_config.json)
    assert type(load_policy_model(adapter).engine.model).__name__ == "PeftModel"
