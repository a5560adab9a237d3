"""Config: the keys a plugin declares in its spec, and the typed view of a config it gets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence, Tuple

class ConfigType:
    BOOLEAN = "boolean"
    STRING = "string"
    INT = "int"
    SHORT = "short"
    LONG = "long"
    DOUBLE = "double"
    LIST = "list"
    CLASS = "class"
    PASSWORD = "password"


class ConfigDef:
    """One accepted config key: ``ConfigDef.string("file").required().doc("...")``."""

    def __init__(self, name: str, type: str):
        self.name = name
        self.type = type
        self.default_value: Optional[str] = None
        self.required_ = False
        self.secret = type == ConfigType.PASSWORD
        self.importance_ = "medium"
        self.documentation = ""
        self.group: Optional[str] = None
        self.recommended_values: List[str] = []
        #: "read-file", "write-file", "read-dir", "write-dir" or None.
        self.file_access: Optional[str] = None

    @staticmethod
    def string(name: str) -> "ConfigDef": return ConfigDef(name, ConfigType.STRING)
    @staticmethod
    def int(name: str) -> "ConfigDef": return ConfigDef(name, ConfigType.INT)
    @staticmethod
    def short(name: str) -> "ConfigDef": return ConfigDef(name, ConfigType.SHORT)
    @staticmethod
    def long(name: str) -> "ConfigDef": return ConfigDef(name, ConfigType.LONG)
    @staticmethod
    def double(name: str) -> "ConfigDef": return ConfigDef(name, ConfigType.DOUBLE)
    @staticmethod
    def boolean(name: str) -> "ConfigDef": return ConfigDef(name, ConfigType.BOOLEAN)
    @staticmethod
    def list(name: str) -> "ConfigDef": return ConfigDef(name, ConfigType.LIST)
    @staticmethod
    def password(name: str) -> "ConfigDef": return ConfigDef(name, ConfigType.PASSWORD)

    def required(self) -> "ConfigDef":
        self.required_ = True
        self.default_value = None
        return self

    def default(self, value: Any) -> "ConfigDef":
        self.default_value = str(value).lower() if isinstance(value, bool) else str(value)
        self.required_ = False
        return self

    def doc(self, text: str) -> "ConfigDef":
        self.documentation = text
        return self

    def importance(self, level: str) -> "ConfigDef":
        """"high", "medium" or "low"."""
        self.importance_ = level
        return self

    def mark_secret(self) -> "ConfigDef":
        self.secret = True
        return self

    def in_group(self, group: str) -> "ConfigDef":
        self.group = group
        return self

    def recommended(self, values: Sequence[str]) -> "ConfigDef":
        self.recommended_values = [str(v) for v in values]
        return self

    def with_file_access(self, access: str) -> "ConfigDef":
        self.file_access = access
        return self


class PluginSpec:
    """What a plugin says about itself."""

    def __init__(self, name: str, version: str):
        self.name = name
        self.version = version
        self.aliases: List[str] = []
        self.description = ""
        self.config: List[ConfigDef] = []

    def alias(self, name: str) -> "PluginSpec":
        self.aliases.append(name)
        return self

    def describe(self, text: str) -> "PluginSpec":
        self.description = text
        return self

    def option(self, d: ConfigDef) -> "PluginSpec":
        self.config.append(d)
        return self


class ConfigError(Exception):
    """A bad or missing config value; names the key and never shows a secret's value."""

    def __init__(self, key: str, message: str):
        super().__init__(f"config `{key}`: {message}")
        self.key = key
        self.problem = message


@dataclass
class ConfigProblem:
    key: str
    message: str


class Config:
    """A connector's or transform's config with typed getters that fall back to defaults."""

    def __init__(self, entries: Sequence[Tuple[str, str]] = (), defs: Sequence[ConfigDef] = ()):
        self.entries = list(entries)
        self.defs = list(defs)

    def _def(self, key: str) -> Optional[ConfigDef]:
        return next((d for d in self.defs if d.name == key), None)

    def get(self, key: str) -> Optional[str]:
        """The value as given, else the declared default, else None."""
        for k, v in reversed(self.entries):
            if k == key:
                return v
        d = self._def(key)
        return d.default_value if d else None

    def contains(self, key: str) -> bool:
        return any(k == key for k, _ in self.entries)

    def required_str(self, key: str) -> str:
        v = self.get(key)
        if v is None:
            raise ConfigError(key, "missing required key")
        return v

    def str(self, key: str) -> Optional[str]:
        return self.get(key)

    def int(self, key: str) -> Optional[int]:
        def parse(v: str) -> Optional[int]:
            try:
                return int(v.strip(), 10)
            except ValueError:
                return None
        return self._parse(key, "an integer such as 100", parse)

    def double(self, key: str) -> Optional[float]:
        def parse(v: str) -> Optional[float]:
            try:
                return float(v.strip())
            except ValueError:
                return None
        return self._parse(key, "a number such as 1.5", parse)

    def bool(self, key: str) -> Optional[bool]:
        """``true``/``false`` in any case, as Kafka."""
        return self._parse(key, "`true` or `false`",
                           lambda v: {"true": True, "false": False}.get(v.strip().lower()))

    def list(self, key: str) -> List[str]:
        """A comma-separated list, items trimmed, empty items dropped; [] if missing."""
        v = self.get(key)
        return [] if v is None else [s.strip() for s in v.split(",") if s.strip()]

    def one_of(self, key: str, allowed: Sequence[str]) -> Optional[str]:
        v = self.get(key)
        if v is None or v in allowed:
            return v
        raise ConfigError(key, f"{self._shown(key, v)} is not accepted; use one of: {', '.join(allowed)}")

    def _shown(self, key: str, value: str) -> str:
        d = self._def(key)
        if d is not None and (d.secret or d.type == ConfigType.PASSWORD):
            return "the value [hidden]"
        return f'"{value}"'

    def _parse(self, key: str, expected: str, parse: Callable[[str], Any]) -> Any:
        v = self.get(key)
        if v is None:
            return None
        parsed = parse(v)
        if parsed is None:
            raise ConfigError(key, f"{self._shown(key, v)} is not valid; expected {expected}")
        return parsed
