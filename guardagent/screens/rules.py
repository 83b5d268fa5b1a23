"""The rules screen: cheap, deterministic checks that run before any model.

Why a rules screen at all: some facts need no model (a forbidden tool is forbidden, Unicode
tag characters are invisible text nobody types by accident), and the learned screens are
costlier. Rules answer those cases decisively and otherwise say "benign, unsure" (0.5, not
decisive) so a cascade escalates to the learned screen.

Groups (each can be switched off with ``screen_options.rules.disable``):

``privileges``  actions: forbidden / not-allowed tools (malicious) and sensitive tools (sensitive)
``arguments``   actions: the policy's ``tools.arguments`` rules
``dangerous``   actions: destructive shell, download-and-run, reverse shells, exfiltration URLs,
                destructive SQL, secret files (a lower-confidence signal)
``injection``   user text and tool results: instructions aimed at the assistant, overrides of
                earlier instructions, fake chat turns, jailbreak role-play
``unicode``     everything: tag characters, bidi overrides, zero-width characters; the text is
                also re-scanned with invisible and look-alike characters removed
``encoded``     user text and tool results: base64 / hex / url-encoded / rot13 payloads that
                decode to instruction-like text
``secrets``     tool results and action arguments: keys, tokens, card numbers (sensitive)

Every regular expression is compiled once at import (or once per screen for policy rules),
and markers only run where their anchor words occur: a 1 MB text costs about 50-60 ms of CPU.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import fnmatch
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Sequence
from urllib.parse import unquote_plus, urlsplit

from guardagent.screens.base import Screen, ScreenError, Timer
from guardagent.taxonomy import Item, Label, Scores, Source, Verdict

if TYPE_CHECKING:
    from guardagent.policy import GuardPolicy, ToolPrivileges

#: A hit at or above this confidence is decisive (matches the cascade's default).
DECISIVE = 0.9
#: What a rules screen that found nothing says: benign, but unsure, so a cascade escalates.
BENIGN_CONFIDENCE = 0.5

GROUPS = ("privileges", "arguments", "dangerous", "injection", "unicode", "encoded", "secrets")
_OPTIONS = {"disable", "markers", "trusted_domains", "benign_confidence"}

_U, _A, _T = Source.USER, Source.ACTION, Source.TOOL


@dataclass(frozen=True)
class Hit:
    """One rule that fired. ``key`` de-duplicates repeated hits of the same rule."""

    label: Label
    confidence: float
    reason: str
    key: str


@dataclass(frozen=True)
class Marker:
    """A regular expression with a label and a confidence per source it applies to."""

    key: str
    regex: re.Pattern[str]
    what: str  # reason prefix, e.g. "instruction addressed to the assistant"
    conf: dict[Source, float]
    label: Label = Label.MALICIOUS
    #: Lower-case literals of which every match contains one; the regex only runs where they
    #: occur (see :class:`_Text`). Empty: the regex scans the whole text (custom markers).
    anchors: tuple[str, ...] = ()
    back: int = 0
    fwd: int = 320
    #: Optional regex that must end right where a ``back == 0`` match starts.
    before: "re.Pattern[str] | None" = None
    #: False for secrets: the reason must not repeat the secret into audit logs.
    quote: bool = True


def _m(key: str, pattern: str, what: str, conf: dict[Source, float], anchors: tuple[str, ...],
       flags: int = re.IGNORECASE, label: Label = Label.MALICIOUS, back: int = 0,
       fwd: int = 320, require_before: str | None = None, quote: bool = True) -> Marker:
    before = re.compile(r"(?<!\w)(?:" + require_before + ")", flags) if require_before else None
    return Marker(key, re.compile(pattern, flags), what, conf, label, anchors, back, fwd, before, quote)


def _snippet(text: str, limit: int = 80) -> str:
    s = " ".join(text.split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


# --------------------------------------------------------------------------- injection markers
# Speed: a regex over 1 MB costs tens of milliseconds in CPython, so markers are not searched
# over the whole text. Each marker names *anchors*: lower-case words one of which every match
# contains. They are located in the lower-cased text at C speed (a literal-prefix regex, or
# ``str.find``) and the marker's regex only runs there: with ``back == 0`` it must match
# starting at the anchor (optionally preceded by ``require_before``, checked only after a
# match); otherwise it searches a window ``back`` characters before to ``fwd`` after.

_EARLIER = (r"(?:previous|prior|preceding|above|earlier|original|initial|former|existing|old|"
            r"system|developer|safety|all|your)")
_RULES = (r"(?:instructions?|prompts?|directions?|directives?|rules|guidelines|guardrails|"
          r"constraints|commands|orders|context|messages|programming|polic(?:y|ies)|restrictions)")
_AI = (r"(?:ai|a\.i\.|ai assistant|ai agent|ai model|assistant|agent|llm|language model|chatbot|bot|"
       r"gpt|chatgpt|claude|gemini|copilot)s?")
_AI_ANCHORS = ("ai", "a.i.", "assistant", "agent", "llm", "language model", "chatbot", "bot", "gpt",
               "chatgpt", "claude", "gemini", "copilot")
_MODES = ("developer", "dan", "god", "jailbreak", "jailbroken", "unrestricted", "unfiltered", "evil")

INJECTION_MARKERS: tuple[Marker, ...] = (
    _m("override",
       r"(?:ignore|disregard|forget|override|bypass|abandon|neglect|discard)\s+(?:\w+\s+){0,3}?"
       + _EARLIER + r"\s+(?:\w+\s+){0,2}?" + _RULES + r"(?![a-z])",
       "override of earlier instructions", {_U: 0.6, _T: 0.97},
       ("ignore", "disregard", "forget", "override", "bypass", "abandon", "neglect", "discard")),
    _m("override_everything",
       r"(?:ignore|disregard|forget)\s+(?:everything|anything|all)(?: of)?\s+(?:that\s+|this\s+)?"
       r"(?:above|before|previously|prior|said|written|you (?:were|have been) told)",
       "override of earlier instructions", {_U: 0.6, _T: 0.97}, ("ignore", "disregard", "forget")),
    _m("override_above",
       r"(?:ignore|disregard|forget)\s+(?:all\s+)?(?:of\s+)?the above(?![a-z])",
       "override of earlier text", {_U: 0.6, _T: 0.75}, ("ignore", "disregard", "forget")),
    _m("chat_tokens",
       r"<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|"
       r"end_header_id|begin_of_text)\|>|\[/?INST\]|<</?SYS>>|<(?:start|end)_of_turn>",
       "chat-template control token", {_U: 0.85, _T: 0.95},
       ("<|", "inst]", "sys>>", "_of_turn>"), flags=0, back=3, fwd=40),
    _m("fake_turn_tag",
       r"[\[<]\s*/?\s*(?:system|sys|assistant|developer)"
       r"(?:\s*(?:message|prompt|note|instructions?|override|update))?\s*[\]>]",
       "fake system/assistant turn", {_U: 0.55, _T: 0.8}, ("system", "sys", "assistant", "developer"),
       back=8, fwd=40),
    _m("fake_turn_header",
       r"(?m)^[ \t>*]*#{1,6}[ \t]*(?:system(?: prompt| message)?|instruction|new instructions?|"
       r"assistant|response)[ \t]*:?[ \t]*$",
       "fake prompt section header", {_T: 0.75},
       ("system", "instruction", "assistant", "response"), back=12, fwd=40),
    _m("fake_turn_prefix",
       r"(?:system|developer)(?: (?:prompt|message|note|override))?[ \t]*:[ \t]*"
       r"(?:you |from now|ignore|disregard|new |the (?:user|assistant)|assistant)",
       "fake system turn", {_U: 0.6, _T: 0.8}, ("system", "developer")),
    _m("if_you_are_ai",
       r"you(?:'re| are) (?:an? )?(?:ai|artificial intelligence|"
       r"language model|llm|large language model|(?:ai |virtual )?assistant|ai agent|chatbot|bot|"
       r"automated (?:system|agent))(?: (?:model|agent|assistant|system))?\s*"
       r"(?:[,.:;!]|reading|processing|summari[sz]ing|parsing|that|who|tasked|helping)",
       "instruction addressed to the assistant", {_T: 0.93}, ("you are", "you're"),
       require_before=r"(?:if|when|since|as|because)\s+$"),
    _m("vocative_ai",
       _AI + r"\s*(?:[,:!]|-{1,2}\s)",
       "instruction addressed to the assistant", {_T: 0.92}, _AI_ANCHORS,
       require_before=r"(?:dear|hey|hello|hi|greetings|attention|note to(?: the)?|message (?:to|for)"
       r"(?: the)?|instructions? (?:to|for)(?: the)?|(?:^|(?<=[.!?:]))[ \t]*(?:to|for) (?:the|all))\s+$"),
    _m("assistant_imperative",
       _AI + r"\s*[,:]\s*(?:you (?:must|should|need to|have to|are (?:now|required))|please|ignore|"
       r"disregard|do not|don't|immediately|now|stop)",
       "instruction addressed to the assistant", {_T: 0.85}, _AI_ANCHORS),
    _m("new_instructions",
       r"(?:instructions?|directives?|orders|system prompt)\s*(?::|are\b|follow)",
       "new instructions", {_T: 0.85}, ("instruction", "directive", "orders", "system"),
       require_before=r"(?:new|updated|revised|real|actual|true|secret|hidden|additional|override|"
       r"priority)\s+$"),
    _m("new_task",
       r"(?:task|objective|goal|mission)\s*:",
       "new task", {_T: 0.55}, ("task", "objective", "goal", "mission"),
       require_before=r"(?:new|real|actual|true|secret|hidden|updated|primary)\s+$"),
    _m("from_now_on",
       r"from now on,?\s+(?:you|the assistant|the ai|your)\s+(?:are|will|must|should|shall|only|"
       r"have|respond|answer|act|reply)",
       "redefinition of the assistant's behaviour", {_T: 0.9}, ("from now on",)),
    _m("instead_you",
       r"(?:instead|rather),?\s+(?:you|the assistant|the ai)\s+(?:must|should|will|need to|have to)",
       "instruction addressed to the assistant", {_T: 0.8}, ("instead", "rather")),
    _m("important_framing",
       r"(?:IMPORTANT|URGENT|CRITICAL|ATTENTION)\s+(?:MESSAGE|INSTRUCTIONS?)\b|"
       r"(?:IMPORTANT|URGENT|CRITICAL|ATTENTION)\s*!{2,}",
       "'IMPORTANT MESSAGE' framing", {_T: 0.6},
       ("important", "urgent", "critical", "attention"), flags=0),
    _m("important_for_ai",
       r"(?:important|urgent|critical|priority)\s+(?:message|instructions?|notice|update|note)"
       r"\s+(?:for|to)\s+(?:the\s+)?" + _AI,
       "instruction addressed to the assistant", {_T: 0.95},
       ("important", "urgent", "critical", "priority")),
    _m("conceal_from_user",
       r"(?:do not|don't|never|without)\s+(?:tell|telling|inform|informing|notify|notifying|mention|"
       r"mentioning|reveal|revealing|alert|alerting|let)\s+(?:this\s+|it\s+|anything\s+)?(?:to\s+)?"
       r"the\s+user|the user (?:must|should) not (?:know|be told|find out|see)",
       "asks to hide something from the user", {_T: 0.93}, ("user",), back=70, fwd=40),
    _m("prompt_leak",
       r"(?:reveal|print|show|repeat|output|display|leak|dump|tell me|write out|recite)\s+"
       r"(?:me\s+)?(?:your|the|all)\s+(?:\w+\s+)?(?:system prompt|initial (?:prompt|instructions)|"
       r"hidden (?:prompt|instructions)|original (?:prompt|instructions)|instructions above|"
       r"pre-?prompt)",
       "system-prompt extraction", {_U: 0.75, _T: 0.92},
       ("system", "initial", "hidden", "original", "instruction", "preprompt", "pre-prompt"),
       back=60, fwd=30),
    _m("dan",
       r"do anything now|(?:developer|dan|god|jailbreak|jailbroken|unrestricted|unfiltered|evil)\s+"
       r"mode\s+(?:enabled|activated|on)\b",
       "jailbreak role-play marker", {_U: 0.92, _T: 0.95}, ("do anything now",) + _MODES),
    _m("dan_enter",
       r"(?:developer|dan|god|jailbreak|unrestricted|unfiltered)\s+mode",
       "jailbreak role-play marker", {_U: 0.92, _T: 0.95}, _MODES,
       require_before=r"(?:enable|activate|enter|switch to|turn on)\s+(?:the\s+)?$"),
    _m("dan_name",
       r"DAN(?:\s*\d+(?:\.\d+)?)?[\s,:]", "jailbreak role-play marker", {_U: 0.45, _T: 0.45},
       ("dan",), flags=0),
    _m("unrestricted_persona",
       r"(?:unrestricted|unfiltered|uncensored|jailbroken|amoral|unethical|evil)(?![a-z])",
       "jailbreak role-play marker", {_U: 0.85, _T: 0.92},
       ("unrestricted", "unfiltered", "uncensored", "jailbroken", "amoral", "unethical", "evil"),
       require_before=r"(?:act|pretend|behave|respond|answer|roleplay|role-play)\s+(?:as|like|to be)"
       r"\s+(?:an?\s+)?(?:\w+\s+)?$"),
    _m("no_longer_bound",
       r"(?:bound|restricted|limited|constrained)\s+by\s+(?:any\s+|your\s+|the\s+)?"
       r"(?:\w+\s+)?(?:rules|guidelines|polic(?:y|ies)|restrictions|filters|ethics|principles|"
       r"programming|instructions|openai|anthropic|content)",
       "asks to drop safety rules", {_U: 0.8, _T: 0.9}, ("bound", "restricted", "limited", "constrained"),
       require_before=r"(?:no longer|not)\s+$"),
    _m("no_restrictions",
       r"(?:ethical|moral|content|safety)\s+(?:restrictions|filters|guidelines|limitations|rules|"
       r"policies|constraints|guardrails)",
       "asks to drop safety rules", {_U: 0.8, _T: 0.9}, ("ethical", "moral", "content", "safety"),
       require_before=r"(?:without|free (?:of|from)|ignoring|ignore|no|bypass)\s+(?:any\s+|all\s+|"
       r"the\s+|your\s+)?$"),
    _m("decode_and_follow",
       r"(?:decode|decrypt|translate|deobfuscate)\s+(?:this|the following|it|the text below)"
       r"[^.\n]{0,60}?(?:follow|execute|obey|do what it says|carry out|run)",
       "asks to decode and obey hidden text", {_U: 0.85, _T: 0.93},
       ("decode", "decrypt", "translate", "deobfuscate")),
    _m("fake_boundary",
       r"(?:-{3,}|={3,}|#{3,}|\*{3,})\s*(?:end|beginning|start) of (?:the )?(?:email|document|context|"
       r"data|input|tool (?:output|result)|user (?:input|message)|system prompt|conversation)",
       "fake end-of-data boundary", {_T: 0.75}, ("end of", "beginning of", "start of"),
       back=40, fwd=50),
    _m("exfil_request",
       r"(?:credentials|passwords?|api[ _-]?keys?|access tokens?|secret keys?|private keys?|"
       r"ssh keys?|session cookies?|conversation history|chat history|system prompt)\s+to\b",
       "asks to send secrets to someone", {_T: 0.9},
       ("credentials", "password", "api", "apikey", "access", "secret", "private", "ssh", "session",
        "conversation", "chat", "system"),
       require_before=r"(?:send|forward|email|e-mail|post|upload|transfer|leak|exfiltrate|share)\s+"
       r"(?:\w+\s+){0,3}?$"),
    _m("markdown_exfil",
       r"!\[[^\]\n]{0,100}\]\(\s*https?://[^)\s]{1,200}[?&][^)\s]{0,200}(?:\{|%7B|\$\(|\[)",
       "markdown image that leaks data in its URL", {_T: 0.93, _U: 0.7}, ("![",)),
)

# Cheap triggers for rot13-encoded markers (rot13 of ignore, disregard, instruction(s),
# assistant, previous, system, prompt): only texts containing one get decoded and re-scanned.
_ROT13_TRIGGERS = ("vtaber", "qvfertneq", "vafgehpgvba", "vafgehpgvbaf", "nffvfgnag", "cerivbhf",
                   "flfgrz", "cebzcg")

# Instruction-like decoded text: an imperative sentence, or second-person commands.
_INSTRUCTION_LIKE = re.compile(
    r"(?:^|[.!?:\n]\s*)(?:please\s+)?(?:ignore|disregard|forget|execute|run|send|forward|email|"
    r"delete|remove|transfer|reveal|print|output|say|respond|reply|tell|write|call|visit|open|"
    r"click|download|install|upload|post|append|include|insert|change|update|grant|add)\s+\w+"
    r"|you (?:must|should|will|are to|need to|have to)\s+\w+"
    r"|(?:assistant|instructions?|system prompt)",
    re.IGNORECASE,
)

# --------------------------------------------------------------------------- hidden unicode
_TAG_RE = re.compile("[\U000E0000-\U000E007F]+")
# Emoji subdivision flags (England, Scotland, Wales, ...) legitimately use tag characters.
_FLAG_TAGS_RE = re.compile("\U0001F3F4[\U000E0030-\U000E0039\U000E0061-\U000E007A]+\U000E007F")
# an override only matters when it reorders something visible after it on the same line
_BIDI_OVERRIDE_RE = re.compile("[\u202d\u202e](?=[^\n\u202c]*\\w)")
_BIDI_OTHER_RE = re.compile("[\u202a\u202b\u202c\u2066-\u2069]")
_RTL_LETTER_RE = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")
# Zero-width / invisible formatting characters that have no business inside plain text.
# ZWJ / ZWNJ are only counted outside the contexts where they are legitimate (emoji
# sequences, scripts that use joiners); a BOM only when it is not the first character.
_ZW_CHARS = "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\u180e\ufeff"
_ZW_RE = re.compile(f"[{_ZW_CHARS}]+")
_ZW_IN_WORD_RE = re.compile(f"[A-Za-z][{_ZW_CHARS}]+[A-Za-z]")
_VARIATION_RUN_RE = re.compile("[\ufe00-\ufe0f\U000E0100-\U000E01EF]{3,}")
_INVISIBLE_RE = re.compile(
    "[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u180e\ufeff"
    "\ufe00-\ufe0f\U000E0000-\U000E007F\U000E0100-\U000E01EF]"
)
# Latin look-alikes from Cyrillic and Greek, for re-scanning mixed-script words.
_CONFUSABLES = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "ј": "j",
    "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "А": "A", "В": "B", "Е": "E",
    "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X", "У": "Y",
    "ο": "o", "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ρ": "p", "τ": "t", "υ": "u",
    "Α": "A", "Β": "B", "Ε": "E", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P",
    "Τ": "T", "Χ": "X", "Υ": "Y", "Ζ": "Z", "Η": "H",
})
# Invisible characters that send a text down the slow path; the joiners and the emoji
# variation selector (U+FE0F) are everywhere in emoji and are checked separately.
_SUSPECT_RE = re.compile(
    "[\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u180e\ufeff\ufe00-\ufe0e"
    "\U000E0000-\U000E007F\U000E0100-\U000E01EF]"
)
_JOINER_ASCII_RE = re.compile("[\x21-\x7e][\u200c\u200d]|[\u200c\u200d][\x21-\x7e]")
_COMPAT_LETTERS_RE = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\U0001d400-\U0001d7ff\ufb00-\ufb06\u2460-\u24ff]")
_CYR_GREEK_RE = re.compile("[\u0370-\u03ff\u0400-\u04ff]")
_MIXED_SCRIPT_RE = re.compile("[A-Za-z][\u0370-\u03ff\u0400-\u04ff]|[\u0370-\u03ff\u0400-\u04ff][A-Za-z]")

# --------------------------------------------------------------------------- encoded payloads
# One pass finds base64 and plain-hex candidates (hex digits are a subset of the alphabet);
# \x-escaped hex and %-encoding start with a literal, so they are cheap extra passes.
_B64_RE = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,2}")
_HEX_CHARS = frozenset("0123456789abcdefABCDEF")
_XHEX_RE = re.compile(r"(?:\\x[0-9a-fA-F]{2}){8,}")
_URLENC_RE = re.compile(r"%[0-9A-Fa-f]{2}(?:[^\s%]{0,12}%[0-9A-Fa-f]{2}){5,}[^\s%]{0,12}")
_MAX_BLOBS = 2000  # base64 decodes per text (a few microseconds each)
_MAX_BLOB_CHARS = 64_000

# --------------------------------------------------------------------------- secrets
def _secret(key: str, pattern: str, what: str, conf: float, anchors: tuple[str, ...], flags: int = 0) -> Marker:
    return _m(key, pattern, what, {_T: conf, _A: conf}, anchors, flags=flags, label=Label.SENSITIVE,
              quote=False)


SECRET_MARKERS: tuple[Marker, ...] = (
    _secret("secret_private_key", r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY",
            "private key", 0.95, ("-----begin",)),
    _secret("secret_aws", r"(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Za-z])", "AWS access key", 0.9,
            ("akia", "asia")),
    _secret("secret_github", r"gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{40,}", "GitHub token",
            0.9, ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    _secret("secret_slack", r"xox[abposr]-[A-Za-z0-9-]{10,}", "Slack token", 0.9,
            ("xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-")),
    _secret("secret_google", r"AIza[0-9A-Za-z_-]{35}", "Google API key", 0.85, ("aiza",)),
    _secret("secret_sk", r"sk-(?:proj-|ant-|live-|test-)?[A-Za-z0-9_-]{20,}", "API secret key", 0.85,
            ("sk-",)),
    _secret("secret_jwt", r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",
            "JSON web token", 0.75, ("eyj",)),
    _secret("secret_password",
            # the value must look like a literal (quoted, or a bare token), not code or a placeholder
            r"(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token)\s*[:=]\s*"
            r"(?:'[^'\s<>{}]{6,}'|\"[^\"\s<>{}]{6,}\"|(?=[^\s,;]*[0-9!@#$%^&*])[A-Za-z0-9_\-+/=!@#$%^&*]{8,}(?=\s|$|[,;]))",
            "password or key assignment", 0.7,
            ("password", "passwd", "pwd", "secret", "api_key", "api-key", "apikey", "access_token",
             "access-token"), flags=re.IGNORECASE),
)
_DIGITS_RE = re.compile(r"[0-9][0-9 -]{9,24}[0-9]")
_SSN_RE = re.compile(r"[0-9]{3}-[0-9]{2}-[0-9]{4}")

# --------------------------------------------------------------------------- dangerous arguments
DANGEROUS_ARGS: tuple[Marker, ...] = (
    _m("rm_root",
       r"rm\s+(?:-[a-zA-Z]*\s+)*(?:-[a-zA-Z]*r[a-zA-Z]*f|-[a-zA-Z]*f[a-zA-Z]*r|-[rR]\s+-f|-f\s+-[rR]|"
       r"--recursive\s+--force|--force\s+--recursive|-[a-zA-Z]*[rR][a-zA-Z]*\s+-[a-zA-Z]*f)[a-zA-Z]*"
       r"(?:\s+--no-preserve-root)?\s+(?:/|~|\$HOME|/\*|\*|\.\.?/?|/(?:etc|usr|var|home|boot|bin|lib)\S*)"
       r"(?=\s|$|;|&|\||['\"])",
       "recursive forced delete of a system or home path", {_A: 0.85}, ("rm",), flags=0, back=5, fwd=200),
    _m("pipe_to_shell",
       r"(?:curl|wget|iwr|invoke-webrequest|fetch)\b[^|;\n]{0,300}\|\s*(?:sudo\s+)?"
       r"(?:sh|bash|zsh|dash|python[0-9.]*|perl|ruby|node|iex|powershell)\b",
       "downloads and runs code", {_A: 0.8}, ("curl", "wget", "iwr", "invoke-webrequest", "fetch"), back=5, fwd=400),
    _m("decode_to_shell",
       r"base64\s+(?:-d|--decode)[^|;\n]{0,100}\|\s*(?:sudo\s+)?(?:sh|bash|zsh|python[0-9.]*)\b",
       "decodes and runs hidden code", {_A: 0.85}, ("base64",), back=5, fwd=200),
    _m("reverse_shell",
       r"/dev/tcp/[^\s/]+/[0-9]+|(?:nc|ncat|netcat)\s+(?:-\w+\s+)*-[a-z]*e\s+/bin/(?:ba)?sh|"
       r"socket\.socket\([^)]*\).{0,200}(?:subprocess|pty\.spawn|os\.dup2)",
       "reverse shell", {_A: 0.88}, ("/dev/tcp/", "nc", "netcat", "socket.socket"), back=40, fwd=260),
    _m("disk_wipe",
       r"mkfs(?:\.\w+)?\s+/dev/|dd\s+[^\n]*of=/dev/(?:sd|nvme|hd|disk|xvd)|"
       r">\s*/dev/(?:sd[a-z]|nvme\d)|shred\s+[^\n]*/dev/",
       "overwrites a disk", {_A: 0.88}, ("mkfs", "of=/dev/", "/dev/"), back=20, fwd=80),
    _m("fork_bomb", r":\(\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:", "fork bomb", {_A: 0.88}, (":()",), back=5, fwd=30),
    _m("chmod_root", r"chmod\s+(?:-R\s+)?(?:0?777|a\+rwx)\s+/(?:\s|$|etc|usr|var|bin)",
       "opens permissions on system paths", {_A: 0.75}, ("chmod",), back=5, fwd=40),
    _m("history_wipe", r"(?:history\s+-c|rm\s+[^\n]*\.bash_history|unset\s+HISTFILE)",
       "erases shell history", {_A: 0.7}, ("history", "histfile"), back=300, fwd=20),
    _m("secret_files",
       r"(?:~|\$HOME|/home/[^/\s]+|/root)/\.(?:ssh/(?:id_\w+|authorized_keys)|aws/credentials|"
       r"netrc|docker/config\.json|kube/config|gnupg)|/etc/(?:shadow|sudoers)|(?:^|[\s/'\"])\.env(?:\s|$|['\"])",
       "touches credential files", {_A: 0.7}, (".ssh/", ".aws/", ".netrc", ".docker/", ".kube/", ".gnupg", "/etc/shadow", "/etc/sudoers", ".env"), label=Label.SENSITIVE, back=40, fwd=40),
    _m("sql_destructive",
       r"(?:drop\s+(?:table|database|schema)|truncate\s+table)\s+[\w.`\"]+|delete\s+from\s+\S+\s*(?:;|$)",
       "destructive database statement", {_A: 0.75}, ("drop", "truncate", "delete"), label=Label.SENSITIVE, back=5, fwd=80),
    _m("force_push", r"git\s+push\s+(?:[^\n]*\s)?(?:--force|-f)(?:\s|$)", "force push",
       {_A: 0.6}, ("push",), label=Label.SENSITIVE, back=30, fwd=60),
)
_URL_RE = re.compile(r"https?://[^\s'\"<>)\]}]+", re.IGNORECASE)
#: Hosts that exist to receive data from strangers (request bins, tunnels, paste sites).
EXFIL_HOSTS = (
    "webhook.site", "requestbin.com", "requestbin.net", "pipedream.net", "ngrok.io", "ngrok.app",
    "ngrok-free.app", "burpcollaborator.net", "oastify.com", "interact.sh", "oast.pro", "oast.live",
    "oast.site", "oast.online", "oast.fun", "oast.me", "transfer.sh", "0x0.st", "file.io",
    "pastebin.com", "hastebin.com", "requestcatcher.com", "beeceptor.com", "trycloudflare.com",
)
_LONG_B64_PARAM = re.compile(r"[=/][A-Za-z0-9+/_-]{40,}={0,2}(?:&|$)")


# =========================================================================== the screen


class RulesScreen(Screen):
    """Deterministic checks for every source; see the module docstring for the groups."""

    name = "rules"

    def __init__(
        self,
        tools: "ToolPrivileges | None" = None,
        *,
        disable: Iterable[str] = (),
        markers: Sequence[str | dict[str, Any]] = (),
        trusted_domains: Iterable[str] = (),
        benign_confidence: float = BENIGN_CONFIDENCE,
    ):
        from guardagent.policy import ToolPrivileges

        self.tools = tools or ToolPrivileges()
        disabled = set(disable)
        unknown = sorted(disabled - set(GROUPS))
        if unknown:
            raise ScreenError(f"rules: unknown group(s) in 'disable': {unknown} (known: {list(GROUPS)})")
        self.enabled = frozenset(g for g in GROUPS if g not in disabled)
        if not 0.0 <= float(benign_confidence) < DECISIVE:
            raise ScreenError(f"rules: 'benign_confidence' must be in [0, {DECISIVE}), got {benign_confidence!r}")
        self.benign_confidence = float(benign_confidence)
        self.markers = INJECTION_MARKERS + tuple(_custom_marker(m, i) for i, m in enumerate(markers))
        self.trusted_domains = tuple(d.lower().lstrip(".") for d in trusted_domains)
        self._arg_rules = [(r, re.compile(r.pattern)) for r in self.tools.arguments]

    # -- protocol ------------------------------------------------------------------------

    async def ascreen_batch(self, items: Sequence[Item]) -> list[Verdict]:
        out = []
        for item in items:
            timer = Timer()
            hits = self.hits(item)
            out.append(self._verdict(item, hits, timer.ms()))
        return out

    def hits(self, item: Item) -> list[Hit]:
        """Every rule that fires on ``item`` (exposed for tests and explanations)."""
        if item.source is Source.ACTION:
            return self._action_hits(item)
        t = _Text(item.text)
        hits = self._text_hits(t, item.source)
        if item.source is Source.TOOL and "secrets" in self.enabled:
            hits += _secret_hits(t, Label.SENSITIVE, "secret in tool result")
        return hits

    # -- actions ---------------------------------------------------------------------------

    def _action_hits(self, item: Item) -> list[Hit]:
        hits: list[Hit] = []
        name = item.tool_name
        tp = self.tools
        if name and "privileges" in self.enabled:
            if _matches_any(name, tp.forbidden):
                return [Hit(Label.MALICIOUS, 1.0, f"forbidden tool {name!r}", "forbidden")]
            if tp.allowed is not None and not _matches_any(name, tp.allowed):
                return [Hit(Label.MALICIOUS, 0.99, f"tool {name!r} is not in the allowed list", "not_allowed")]
            if _matches_any(name, tp.sensitive):
                hits.append(Hit(Label.SENSITIVE, 0.99, f"sensitive tool {name!r} needs verification", "sensitive_tool"))
        args = _flatten_args(item)
        if "arguments" in self.enabled:
            for i, (rule, rx) in enumerate(self._arg_rules):
                if rule.tool != "*" and not fnmatch.fnmatchcase(name or "", rule.tool):
                    continue
                for arg, value in args:
                    if not fnmatch.fnmatchcase(arg, rule.argument):
                        continue
                    m = rx.search(value)
                    if m:
                        why = rule.reason or f"argument {arg!r} matches {rule.pattern!r}"
                        conf = 0.95 if rule.label is not Label.BENIGN else 0.92
                        hits.append(Hit(rule.label, conf, f"{why} ({arg}={_snippet(value, 60)!r})", f"arg_rule_{i}"))
                        break
        joined = "\n".join(v for _, v in args)
        t = _Text(joined)
        if "dangerous" in self.enabled:
            hits += _marker_hits(DANGEROUS_ARGS, t, Source.ACTION)
            hits += self._url_hits(joined)
        if "secrets" in self.enabled:
            hits += _secret_hits(t, Label.SENSITIVE, "secret in arguments")
        if "unicode" in self.enabled and not joined.isascii():
            uh, _ = _unicode_hits(joined)
            hits += uh
        return hits

    def _url_hits(self, text: str) -> list[Hit]:
        if "://" not in text:
            return []
        hits = []
        for m in _URL_RE.finditer(text):
            url = m.group(0)
            try:
                host = (urlsplit(url).hostname or "").lower()
            except ValueError:
                continue
            if not host or _host_in(host, self.trusted_domains):
                continue
            if _host_in(host, EXFIL_HOSTS):
                hits.append(Hit(Label.MALICIOUS, 0.8, f"data sent to a request-capture host {host!r}", "exfil_host"))
            elif _secret_hits(url, Label.MALICIOUS, ""):
                hits.append(Hit(Label.MALICIOUS, 0.92, f"URL sends a secret to host {host!r}", "exfil_url"))
            elif _LONG_B64_PARAM.search(url):
                hits.append(Hit(Label.MALICIOUS, 0.75, f"URL carries encoded data to host {host!r}", "exfil_url"))
        return hits

    # -- user text and tool results -------------------------------------------------------

    def _text_hits(self, t: "_Text", source: Source) -> list[Hit]:
        text = t.text
        hits: list[Hit] = []
        if "injection" in self.enabled:
            hits += _marker_hits(self.markers, t, source)
        if "unicode" in self.enabled and not text.isascii():
            uh, cleaned = _unicode_hits(text)
            hits += uh
            if cleaned != text and "injection" in self.enabled:
                seen = {h.key for h in hits}
                for h in _marker_hits(self.markers, cleaned, source):
                    if h.key not in seen:
                        hits.append(Hit(Label.MALICIOUS, 0.97,
                                        f"hidden by invisible or look-alike characters: {h.reason}",
                                        "obfuscated_" + h.key))
        if "encoded" in self.enabled:
            hits += self._encoded_hits(t, source)
        return hits

    def _encoded_hits(self, t: "_Text", source: Source) -> list[Hit]:
        text = t.text
        hits: list[Hit] = []
        for kind, decoded in _decoded_blobs(text):
            inner = _marker_hits(self.markers, decoded, Source.TOOL)
            if inner:
                hits.append(Hit(Label.MALICIOUS, 0.97,
                                f"{kind}-encoded instruction: {_snippet(decoded, 60)!r}", f"encoded_{kind}"))
            elif kind != "url" and _INSTRUCTION_LIKE.search(decoded):
                hits.append(Hit(Label.MALICIOUS, 0.8,
                                f"{kind}-encoded text that reads like an instruction: {_snippet(decoded, 60)!r}",
                                f"encoded_{kind}"))
            if len(hits) >= 3:
                break
        if any(t.positions(trigger) for trigger in _ROT13_TRIGGERS):
            decoded = codecs.decode(text, "rot13")
            plain = {h.key for h in _marker_hits(self.markers, t, source)}
            inner = [h for h in _marker_hits(self.markers, decoded, Source.TOOL) if h.key not in plain]
            if inner:
                hits.append(Hit(Label.MALICIOUS, 0.95, f"rot13-encoded {inner[0].reason}", "encoded_rot13"))
        return hits

    # -- verdict ---------------------------------------------------------------------------

    def _verdict(self, item: Item, hits: list[Hit], ms: float) -> Verdict:
        if not hits:
            return Verdict(label=Label.BENIGN, scores=Scores.one_hot(Label.BENIGN, self.benign_confidence),
                           source=item.source, reasons=[], screen=self.name, latency_ms=ms)
        label, conf, agg = combine_hits(hits)
        scores = Scores.one_hot(label, conf).model_dump()
        for lab, c in agg.items():
            if lab is not label:
                scores[lab.value] = max(scores[lab.value], c)
        if label is Label.BENIGN:  # a known-good argument rule: decisive only if nothing else fired
            scores = Scores.one_hot(Label.BENIGN, conf).model_dump()
        scores = {k: round(v, 4) for k, v in scores.items()}
        ordered = sorted(hits, key=lambda h: (-h.label.severity, -h.confidence))
        reasons: list[str] = []
        for h in ordered:
            if h.reason not in reasons:
                reasons.append(h.reason)
        return Verdict(label=label, scores=Scores(**scores), source=item.source, reasons=reasons[:8],
                       screen=self.name, latency_ms=ms, decisive=conf >= DECISIVE)


def combine_hits(hits: Sequence[Hit]) -> tuple[Label, float, dict[Label, float]]:
    """Pick the verdict's label and confidence from the hits.

    Distinct rules for the same label add up (noisy-OR: two 0.7 signals make 0.91), repeated
    hits of one rule do not. The most severe label that reaches :data:`DECISIVE` wins; with
    none decisive, the most confident label wins. Benign hits (known-good argument rules)
    only count when no other label fired: an allow-rule never talks a risk down.
    """
    best: dict[tuple[Label, str], float] = {}
    for h in hits:
        k = (h.label, h.key)
        best[k] = max(best.get(k, 0.0), h.confidence)
    agg: dict[Label, float] = {}
    for (lab, _), c in best.items():
        agg[lab] = 1.0 - (1.0 - agg.get(lab, 0.0)) * (1.0 - c)
    agg = {lab: min(c, 1.0) for lab, c in agg.items()}
    risky = {lab: c for lab, c in agg.items() if lab is not Label.BENIGN}
    if not risky:
        return Label.BENIGN, agg[Label.BENIGN], agg
    decisive = [lab for lab, c in risky.items() if c >= DECISIVE]
    if decisive:
        label = max(decisive, key=lambda lab: lab.severity)
    else:
        label = max(risky, key=lambda lab: (risky[lab], lab.severity))
    return label, risky[label], risky


# =========================================================================== helpers


def _word_start(text: str, pos: int) -> bool:
    """No ASCII letter or digit right before ``pos`` (CJK text has no spaces between words)."""
    return pos == 0 or not (text[pos - 1].isascii() and text[pos - 1].isalnum())


class _Text:
    """A text, its lower-cased twin and its anchor positions, computed once per text.

    Word anchors are all located by one regex pass over a trie of every built-in anchor
    (a match must start after a non-word character); anchors that start with punctuation
    are found with ``str.find``. Either way the per-anchor cost is paid in C.
    """

    __slots__ = ("text", "low", "_pos", "_words")

    def __init__(self, text: str):
        self.text = text
        low = text.lower()
        if len(low) != len(text):  # a few characters lower-case to two; keep offsets aligned
            low = text.translate(_ASCII_LOWER)
        self.low = low
        self._pos: dict[str, list[int]] = {}
        self._words: dict[str, list[int]] | None = None

    def positions(self, anchor: str) -> list[int]:
        """Offsets of ``anchor`` (a word anchor: at a word start, ending a word or plural)."""
        trie = _anchor_trie()
        if anchor in trie.words:
            if self._words is None:
                self._words = trie.scan(self.low)
            return self._words.get(anchor, [])
        pos = self._pos.get(anchor)
        if pos is None:
            rx = _ANCHOR_RX.get(anchor)
            if rx is None:
                suffix = r"s?\b" if anchor[-1].isalnum() and anchor not in _PREFIX_ANCHORS else ""
                rx = _ANCHOR_RX[anchor] = re.compile(re.escape(anchor) + suffix)
            pos = [m.start() for m in rx.finditer(self.low)]
            self._pos[anchor] = pos
        return pos


class _AnchorTrie:
    """One compiled regex that finds every word anchor of the built-in markers in one pass."""

    def __init__(self, anchors: Iterable[str]):
        self.words = frozenset(a for a in anchors if a[:1].isalnum())
        # "system prompt" must also count as an occurrence of "system"
        self.also = {a: [b for b in self.words if len(b) < len(a) and a.startswith(b)
                         and not a[len(b)].isalnum() and b not in _PREFIX_ANCHORS]
                     for a in self.words}
        # '_' counts as a word start so db_password / aws_secret_key are seen. The leading
        # class lets the engine skip letters in C; for mostly non-ASCII text (where nearly
        # every character fits it) the bare trie is faster and word starts are checked here.
        trie = self._build(sorted(self.words))
        self.rx = re.compile(r"[^a-z0-9](" + trie + ")")
        self.rx_bare = re.compile("(" + trie + ")")

    def _build(self, words: list[str]) -> str:
        trie: dict[str, Any] = {}
        for w in words:
            node = trie
            for ch in w:
                node = node.setdefault(ch, {})
            node[""] = w
        return self._emit(trie)

    def _emit(self, node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + self._emit(sub) for ch, sub in sorted(node.items()) if ch]
        if "" in node:  # a word ends here; longer words are tried first
            w = node[""]
            alts.append(r"s?\b" if w[-1].isalnum() and w not in _PREFIX_ANCHORS else "")
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    def scan(self, low: str) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        words = self.words
        if _mostly_non_ascii(low):
            matches, shift = self.rx_bare.finditer(low), 0
        else:
            matches, shift = self.rx.finditer(" " + low), 1
        for m in matches:
            w, i = m.group(1), m.start(1) - shift
            if not shift and i and low[i - 1].isascii() and (low[i - 1].isalnum()):
                continue
            if w not in words:
                w = w[:-1]  # the plural 's'
            out.setdefault(w, []).append(i)
            for b in self.also[w]:
                out.setdefault(b, []).append(i)
        return out


def _mostly_non_ascii(s: str) -> bool:
    if s.isascii() or len(s) < 4096:
        return False
    n = len(s)
    sample = s[:2000] + s[n // 2: n // 2 + 2000] + s[-2000:]
    return len(sample.encode("ascii", "ignore")) < len(sample) // 2


_TRIE: "_AnchorTrie | None" = None


def _anchor_trie() -> _AnchorTrie:
    global _TRIE
    if _TRIE is None:
        markers = INJECTION_MARKERS + SECRET_MARKERS + DANGEROUS_ARGS
        _TRIE = _AnchorTrie([a for mk in markers for a in mk.anchors] + list(_ROT13_TRIGGERS))
    return _TRIE


_ANCHOR_RX: dict[str, re.Pattern[str]] = {}
#: Anchors that start a token rather than end a word (key prefixes).
_PREFIX_ANCHORS = frozenset({"akia", "asia", "aiza", "eyj", "github_pat_", "ghp_", "gho_", "ghu_",
                             "ghs_", "ghr_", "sk-", "xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-"})


_ASCII_LOWER = {c: c + 32 for c in range(65, 91)}


def _marker_hits(markers: Iterable[Marker], text: "str | _Text", source: Source) -> list[Hit]:
    """The first match of each marker that applies to ``source``.

    Anchored markers only search small windows around their anchors' occurrences.
    """
    t = text if isinstance(text, _Text) else _Text(text)
    s, n = t.text, len(t.text)
    hits = []
    for mk in markers:
        conf = mk.conf.get(source)
        if conf is None:
            continue
        found = None
        if not mk.anchors:
            found = _first_word_match(mk.regex, s, 0, n)
        elif mk.back == 0:
            found = _anchored_match(mk, t)
        else:
            starts = sorted(i for a in mk.anchors for i in t.positions(a))
            lo = hi = -1
            for i in starts:  # merge overlapping windows; search each merged span once
                wlo, whi = max(0, i - mk.back), min(n, i + mk.fwd + 32)
                if wlo <= hi:
                    hi = max(hi, whi)
                    continue
                if hi > lo and (found := _first_word_match(mk.regex, s, lo, hi)):
                    break
                lo, hi = wlo, whi
            if found is None and hi > lo:
                found = _first_word_match(mk.regex, s, lo, hi)
        if found is not None:
            reason = f"{mk.what}: {_snippet(found)!r}" if mk.quote else mk.what
            hits.append(Hit(mk.label, conf, reason, mk.key))
    return hits


def _anchored_match(mk: Marker, t: "_Text") -> str | None:
    """Text of a match of ``mk`` starting at one of its anchors (at a word start)."""
    s = t.text
    for a in mk.anchors:
        check_word = a[:1].isalnum()
        for i in t.positions(a):
            if check_word and i and s[i - 1].isascii() and s[i - 1].isalnum():
                continue
            m = mk.regex.match(s, i)
            if m is None:
                continue
            if mk.before is None:
                return m.group(0)
            b = mk.before.search(s, max(0, i - 48), i)
            if b is not None:
                return s[b.start():m.end()]
    return None


def _first_word_match(rx: re.Pattern[str], s: str, lo: int, hi: int) -> str | None:
    """Text of the first match in s[lo:hi] that starts at a word start (or with punctuation)."""
    for m in rx.finditer(s, lo, hi):
        if _word_start(s, m.start()) or not m.group(0)[:1].isalnum():
            return m.group(0)
    return None


def _custom_marker(spec: str | dict[str, Any], index: int) -> Marker:
    """An extra marker from ``screen_options.rules.markers`` (a regex or a dict)."""
    where = f"rules: markers[{index}]"
    if isinstance(spec, str):
        spec = {"pattern": spec}
    if not isinstance(spec, dict) or "pattern" not in spec:
        raise ScreenError(f"{where}: expected a regex string or a mapping with 'pattern'")
    unknown = sorted(set(spec) - {"pattern", "label", "confidence", "sources", "reason", "case_sensitive"})
    if unknown:
        raise ScreenError(f"{where}: unknown key(s) {unknown}")
    flags = 0 if spec.get("case_sensitive") else re.IGNORECASE
    try:
        rx = re.compile(str(spec["pattern"]), flags)
    except re.error as exc:
        raise ScreenError(f"{where}.pattern: not a valid regular expression: {exc}") from None
    try:
        label = Label.parse(spec.get("label", "malicious"))
        sources = [Source.parse(s) for s in spec.get("sources", ["user", "tool"])]
    except Exception as exc:
        raise ScreenError(f"{where}: {exc}") from None
    conf = spec.get("confidence", 0.95)
    if not isinstance(conf, (int, float)) or not 0.0 < conf <= 1.0:
        raise ScreenError(f"{where}.confidence: must be a number in (0, 1], got {conf!r}")
    return Marker(f"custom_{index}", rx, str(spec.get("reason", "custom marker")),
                  {s: float(conf) for s in sources}, label)


def _matches_any(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _host_in(host: str, domains: Iterable[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def _flatten_args(item: Item) -> list[tuple[str, str]]:
    """(top-level argument name, its text) pairs; non-strings are JSON-encoded.

    Without structured arguments the item's text stands in as one argument named ``*``.
    """
    if not item.tool_args:
        return [("*", item.text)] if item.text else []
    out = []
    for k, v in item.tool_args.items():
        if isinstance(v, str):
            out.append((str(k), v))
        else:
            try:
                out.append((str(k), json.dumps(v, ensure_ascii=False, default=str)))
            except (TypeError, ValueError):
                out.append((str(k), str(v)))
    return out


def _secret_hits(text: "str | _Text", label: Label, where: str) -> list[Hit]:
    """Credentials and card / social-security numbers; reasons never quote the secret."""
    t = text if isinstance(text, _Text) else _Text(text)
    prefix = f"{where}: " if where else ""
    hits = [Hit(label, h.confidence, prefix + h.reason, h.key)
            for h in _marker_hits(SECRET_MARKERS, t, Source.TOOL)]
    card = ssn = False
    for m in _DIGITS_RE.finditer(t.text):
        run = m.group(0)
        if not ssn and _SSN_RE.fullmatch(run):
            ssn = True
            hits.append(Hit(label, 0.6, prefix + "social security number", "secret_ssn"))
        if not card and _looks_like_card(t, m.start(), run):
            card = True
            hits.append(Hit(label, 0.8, prefix + "payment card number", "secret_card"))
        if card and ssn:
            break
    return hits


_CARD_GROUPS_RE = re.compile(r"[0-9]{4}([ -])[0-9]{4}\1[0-9]{4}\1[0-9]{1,7}|[0-9]{4}([ -])[0-9]{6}\2[0-9]{5}")
_CARD_WORDS = ("card", "visa", "mastercard", "amex", "credit", "debit", "payment", "cc")


def _looks_like_card(t: "_Text", start: int, run: str) -> bool:
    """A Luhn-valid number written like a card (4-digit groups), or next to a card word.

    Bare digit runs are everywhere in data (timestamps, ids, numeric tables); one in ten
    passes Luhn by chance, so they need the context.
    """
    digits = run.replace(" ", "").replace("-", "")
    if not (13 <= len(digits) <= 19 and len(set(digits)) > 1 and _luhn(digits)):
        return False
    if _CARD_GROUPS_RE.fullmatch(run):
        return True
    if run.isdigit():
        before = t.low[max(0, start - 40):start]
        return any(w in before for w in _CARD_WORDS)
    return False


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _unicode_hits(text: str) -> tuple[list[Hit], str]:
    """Hidden-character hits, and the text to re-scan with hidden and look-alike characters undone.

    Zero-width joiners inside emoji sequences and Indic / Persian words, emoji variation
    selectors and a leading byte-order mark are ordinary; they neither count as hits nor
    send emoji-heavy text down the slow path.
    """
    hits: list[Hit] = []
    joiners = ("\u200d" in text or "\u200c" in text) and _JOINER_ASCII_RE.search(text)
    if not joiners and not _SUSPECT_RE.search(text):  # the common case: nothing hidden
        return hits, _fold_lookalikes(text)
    scan = _FLAG_TAGS_RE.sub("\U0001F3F4", text) if "\U0001F3F4" in text else text
    tags = _TAG_RE.findall(scan)
    hidden = "".join(chr(ord(c) - 0xE0000) for run in tags for c in run if 0x20 <= ord(c) - 0xE0000 < 0x7F)
    if tags:
        what = f": {_snippet(hidden, 60)!r}" if hidden.strip() else ""
        hits.append(Hit(Label.MALICIOUS, 0.99, f"Unicode tag characters (invisible text){what}", "unicode_tags"))
    if _BIDI_OVERRIDE_RE.search(text):
        # in right-to-left text an override can be typography; in Latin text it hides the order
        conf = 0.6 if _RTL_LETTER_RE.search(text) else 0.95
        hits.append(Hit(Label.MALICIOUS, conf, "bidi override characters (text displays reordered)", "unicode_bidi"))
    elif _BIDI_OTHER_RE.search(text) and not _RTL_LETTER_RE.search(text):
        hits.append(Hit(Label.MALICIOUS, 0.7, "bidi control characters in left-to-right text", "unicode_bidi"))
    zw = [m for m in _ZW_RE.finditer(text) if not _legit_joiner(text, m)]
    if zw:
        longest = max(len(m.group(0)) for m in zw)
        if longest >= 4:
            hits.append(Hit(Label.MALICIOUS, 0.95, f"zero-width characters ({longest} in a row: hidden data)", "unicode_zw"))
        elif _ZW_IN_WORD_RE.search(text):
            hits.append(Hit(Label.MALICIOUS, 0.92, "zero-width characters inside words", "unicode_zw"))
        else:
            hits.append(Hit(Label.MALICIOUS, 0.7, "zero-width characters", "unicode_zw"))
    if _VARIATION_RUN_RE.search(text):
        hits.append(Hit(Label.MALICIOUS, 0.93, "runs of variation selectors (hidden data)", "unicode_vs"))
    cleaned = text
    if hits:  # something is hidden: strip every invisible character and read the tags too
        cleaned = _INVISIBLE_RE.sub("", text) + ("\n" + hidden if hidden else "")
    return hits, _fold_lookalikes(cleaned)


def _fold_lookalikes(text: str) -> str:
    """Undo the look-alikes used to dodge filters: fullwidth / mathematical letters (NFKC
    folds them) and Cyrillic / Greek letters mixed into Latin words."""
    if _COMPAT_LETTERS_RE.search(text):
        text = unicodedata.normalize("NFKC", text)
    if _CYR_GREEK_RE.search(text) and _MIXED_SCRIPT_RE.search(text):
        text = text.translate(_CONFUSABLES)
    return text


def _legit_joiner(text: str, m: re.Match[str]) -> bool:
    """ZWJ/ZWNJ between emoji or inside scripts that need them, or a leading BOM."""
    run = m.group(0)
    if run == "\ufeff" and m.start() == 0:
        return True
    if set(run) <= {"\u200c", "\u200d"}:
        before = text[m.start() - 1] if m.start() else ""
        after = text[m.end()] if m.end() < len(text) else ""
        return (not before.isascii() or not before) and (not after.isascii() or not after) and bool(before or after)
    return False


def _decoded_blobs(text: str) -> Iterable[tuple[str, str]]:
    """(encoding, decoded text) for blobs that decode to readable text."""
    budget = _MAX_BLOBS
    for m in _B64_RE.finditer(text):
        blob = m.group(0)[:_MAX_BLOB_CHARS]
        if _HEX_CHARS.issuperset(blob):
            try:
                decoded = _readable(bytes.fromhex(blob[: len(blob) // 2 * 2]))
            except ValueError:
                decoded = None
            kind = "hex"
        elif blob.islower() or blob.isupper() or blob.isalpha() and not blob.isascii():
            continue  # an identifier or a path, not base64 (which mixes cases)
        else:
            decoded, kind = _readable(_b64(blob)), "base64"
            budget -= 1
        if decoded:
            yield kind, decoded
        if budget <= 0:
            break
    if "\\x" in text:
        for m in _XHEX_RE.finditer(text):
            decoded = _readable(bytes.fromhex(m.group(0)[:_MAX_BLOB_CHARS].replace("\\x", "")))
            if decoded:
                yield "hex", decoded
    if "%" in text:
        for m in _URLENC_RE.finditer(text):
            decoded = unquote_plus(m.group(0)[:_MAX_BLOB_CHARS])
            if decoded != m.group(0):
                yield "url", decoded


def _b64(blob: str) -> bytes:
    s = blob.rstrip("=")
    s = s[: len(s) - (len(s) % 4 == 1)]  # a stray trailing char cannot be decoded
    s += "=" * (-len(s) % 4)
    try:
        if "-" in s or "_" in s:
            return base64.urlsafe_b64decode(s)
        return base64.b64decode(s)
    except (binascii.Error, ValueError):
        return b""


def _readable(data: bytes) -> str | None:
    """The bytes as text when they look like human language (not binary, not a hash)."""
    if len(data) < 12:
        return None
    try:
        s = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(ch.isprintable() or ch in "\n\r\t" for ch in s)
    if printable < 0.95 * len(s) or " " not in s:
        return None
    letters = sum(ch.isalpha() for ch in s)
    return s if letters >= 0.5 * len(s) else None


# =========================================================================== factory


def from_policy(policy: "GuardPolicy", options: dict[str, Any]) -> RulesScreen:
    """Build from the policy's tool privileges and ``screen_options.rules``.

    Options: ``disable`` (groups to switch off), ``markers`` (extra regexes, or mappings with
    ``pattern``, ``label``, ``confidence``, ``sources``, ``reason``, ``case_sensitive``),
    ``trusted_domains`` (hosts exempt from exfiltration checks), ``benign_confidence``.
    """
    unknown = sorted(set(options) - _OPTIONS)
    if unknown:
        raise ScreenError(f"screen_options.rules: unknown option(s) {unknown} (known: {sorted(_OPTIONS)})")
    for key in ("disable", "markers", "trusted_domains"):
        if key in options and not isinstance(options[key], (list, tuple)):
            raise ScreenError(f"screen_options.rules.{key}: must be a list, got {type(options[key]).__name__}")
    return RulesScreen(
        policy.tools,
        disable=options.get("disable", ()),
        markers=options.get("markers", ()),
        trusted_domains=options.get("trusted_domains", ()),
        benign_confidence=options.get("benign_confidence", BENIGN_CONFIDENCE),
    )


def available() -> bool:
    return True


__all__ = ["RulesScreen", "Hit", "Marker", "combine_hits", "from_policy", "GROUPS"]
