"""Prompt templates: files under `prompts/`, loaded and rendered strictly.

A template is a Markdown file. Text before the first role heading is a note for people and is never
sent. Each `## system`, `## user` or `## assistant` heading (a line of its own) starts one chat
message. Placeholders are written `{{name}}` (letters, digits, underscores). Rendering is strict:

- a placeholder with no value, or a value with no placeholder, raises `ConfigError`;
- any other `{{` or `}}` in a message is a typo and raises `ConfigError` when the file is loaded;
- values are inserted in one pass, so a value that itself contains `{{x}}` (a source document can)
  is sent as written and never expanded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from qa.errors import ConfigError

__all__ = ["Message", "PromptTemplate", "load_prompt", "render_prompt"]

Role = Literal["system", "user", "assistant"]

_HEADING = re.compile(r"^## (system|user|assistant)[ \t]*$", re.MULTILINE)
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_BRACES = re.compile(r"\{\{|\}\}")


@dataclass(frozen=True)
class Message:
    """One chat message as sent to a model."""

    role: Role
    content: str


@dataclass(frozen=True)
class PromptTemplate:
    """A parsed prompt file: its messages, each with `{{name}}` placeholders."""

    name: str
    path: Path
    messages: tuple[Message, ...]

    @property
    def placeholders(self) -> frozenset[str]:
        return frozenset(m for msg in self.messages for m in _PLACEHOLDER.findall(msg.content))

    def render(self, **values: str) -> list[Message]:
        """The messages with every placeholder replaced; strict about missing and unknown names."""
        wanted = self.placeholders
        missing = sorted(wanted - values.keys())
        unknown = sorted(values.keys() - wanted)
        if missing:
            raise ConfigError(
                f"prompt {self.path} needs a value for {', '.join(missing)}: "
                "pass it when rendering, or remove the placeholder from the file"
            )
        if unknown:
            raise ConfigError(
                f"prompt {self.path} has no placeholder {', '.join(unknown)}: "
                "add {{" + unknown[0] + "}} to the file or stop passing it"
            )
        for key, value in values.items():
            if not isinstance(value, str):
                raise ConfigError(f"prompt {self.path}: value of {key} must be text")

        def fill(match: re.Match[str]) -> str:
            return values[match.group(1)]

        return [Message(m.role, _PLACEHOLDER.sub(fill, m.content)) for m in self.messages]


def load_prompt(name: str, prompts_dir: Path) -> PromptTemplate:
    """Read and check `prompts_dir/<name>.md`. Raises `ConfigError` naming the file on any problem."""
    path = Path(prompts_dir) / f"{name}.md"
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"prompt file {path} is missing: restore it from the repository or set QA_PROMPTS_DIR"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"prompt file {path} cannot be read: {exc}") from None
    return parse_prompt(raw, name=name, path=path)


def parse_prompt(raw: str, *, name: str, path: Path) -> PromptTemplate:
    """Parse the text of a prompt file (see the module docstring for the format)."""
    headings = list(_HEADING.finditer(raw))
    if not headings:
        raise ConfigError(
            f"prompt file {path} has no '## system' or '## user' heading: "
            "each chat message starts with such a line"
        )
    messages: list[Message] = []
    for i, heading in enumerate(headings):
        stop = headings[i + 1].start() if i + 1 < len(headings) else len(raw)
        content = raw[heading.end() : stop].strip()
        if not content:
            raise ConfigError(f"prompt file {path}: the '## {heading.group(1)}' message is empty")
        blanked = _PLACEHOLDER.sub(lambda m: " " * len(m.group(0)), raw[: stop])
        stray = _BRACES.search(blanked, heading.end())
        if stray:
            line = raw.count("\n", 0, stray.start()) + 1
            raise ConfigError(
                f"prompt file {path}: malformed placeholder near line {line}: "
                "write placeholders as {{name}}"
            )
        messages.append(Message(heading.group(1), content))  # type: ignore[arg-type]
    return PromptTemplate(name=name, path=path, messages=tuple(messages))


def render_prompt(name: str, prompts_dir: Path, **values: str) -> list[Message]:
    """Load `prompts_dir/<name>.md` and render it strictly."""
    return load_prompt(name, prompts_dir).render(**values)
