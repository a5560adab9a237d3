// Config: the keys a plugin declares in its spec, and the typed view of a config it gets.

/** Kafka ConfigDef types. */
export const ConfigType = Object.freeze({
  BOOLEAN: "boolean", STRING: "string", INT: "int", SHORT: "short", LONG: "long",
  DOUBLE: "double", LIST: "list", CLASS: "class", PASSWORD: "password",
});

/** One accepted config key: `ConfigDef.string("file").required().doc("...")`. */
export class ConfigDef {
  constructor(name, type) {
    this.name = name;
    this.type = type;
    this.defaultValue = undefined;
    // Underscored: `required` and `importance` are also the builder methods' names.
    this._required = false;
    this.secret = type === ConfigType.PASSWORD;
    this._importance = "medium";
    this.documentation = "";
    this.group = undefined;
    this.recommendedValues = [];
    /** "read-file", "write-file", "read-dir", "write-dir" or undefined. */
    this.fileAccess = undefined;
  }
  static string(name) { return new ConfigDef(name, ConfigType.STRING); }
  static int(name) { return new ConfigDef(name, ConfigType.INT); }
  static short(name) { return new ConfigDef(name, ConfigType.SHORT); }
  static long(name) { return new ConfigDef(name, ConfigType.LONG); }
  static double(name) { return new ConfigDef(name, ConfigType.DOUBLE); }
  static boolean(name) { return new ConfigDef(name, ConfigType.BOOLEAN); }
  static list(name) { return new ConfigDef(name, ConfigType.LIST); }
  static class(name) { return new ConfigDef(name, ConfigType.CLASS); }
  static password(name) { return new ConfigDef(name, ConfigType.PASSWORD); }
  required() { this._required = true; this.defaultValue = undefined; return this; }
  default(value) { this.defaultValue = String(value); this._required = false; return this; }
  doc(text) { this.documentation = text; return this; }
  /** "high", "medium" or "low". */
  importance(level) { this._importance = level; return this; }
  markSecret() { this.secret = true; return this; }
  inGroup(group) { this.group = group; return this; }
  recommended(values) { this.recommendedValues = values.map(String); return this; }
  withFileAccess(access) { this.fileAccess = access; return this; }
}

/** What a plugin says about itself. */
export class PluginSpec {
  constructor(name, version) {
    this.name = name;
    this.version = version;
    this.aliases = [];
    this.description = "";
    this.config = [];
  }
  alias(name) { this.aliases.push(name); return this; }
  describe(text) { this.description = text; return this; }
  option(def) { this.config.push(def); return this; }
}

/** A bad or missing config value; the message names the key (and never a secret's value). */
export class ConfigError extends Error {
  constructor(key, message) {
    super(`config \`${key}\`: ${message}`);
    this.name = "ConfigError";
    this.key = key;
    this.problem = message;
  }
}

/** A connector's or transform's config with typed getters that fall back to declared defaults. */
export class Config {
  constructor(entries = [], defs = []) {
    this.entries = entries;
    this.defs = defs;
  }
  /** The value as given, else the declared default, else undefined. */
  get(key) {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if (this.entries[i][0] === key) return this.entries[i][1];
    }
    return this.#def(key)?.defaultValue;
  }
  /** Whether the key was given explicitly (defaults do not count). */
  contains(key) { return this.entries.some(([k]) => k === key); }
  requiredString(key) {
    const v = this.get(key);
    if (v === undefined) throw new ConfigError(key, "missing required key");
    return v;
  }
  string(key) { return this.get(key); }
  /** An integer (int, short or long) as a number, or undefined if neither given nor defaulted. */
  int(key) {
    return this.#parse(key, "an integer such as 100", (v) => (/^\s*[-+]?\d+\s*$/.test(v) ? Number.parseInt(v, 10) : undefined));
  }
  double(key) {
    return this.#parse(key, "a number such as 1.5", (v) => {
      const n = Number(v.trim());
      return v.trim() !== "" && Number.isFinite(n) ? n : undefined;
    });
  }
  /** true/false in any case, as Kafka. */
  bool(key) {
    return this.#parse(key, "`true` or `false`", (v) => {
      const s = v.trim().toLowerCase();
      return s === "true" ? true : s === "false" ? false : undefined;
    });
  }
  /** A comma-separated list, items trimmed, empty items dropped; [] if missing. */
  list(key) {
    const v = this.get(key);
    return v === undefined ? [] : v.split(",").map((s) => s.trim()).filter((s) => s !== "");
  }
  /** A value that must be one of `allowed`. */
  oneOf(key, allowed) {
    const v = this.get(key);
    if (v === undefined || allowed.includes(v)) return v;
    throw new ConfigError(key, `${this.#shown(key, v)} is not accepted; use one of: ${allowed.join(", ")}`);
  }
  #def(key) { return this.defs.find((d) => d.name === key); }
  #shown(key, value) {
    const d = this.#def(key);
    return d && (d.secret || d.type === ConfigType.PASSWORD) ? "the value [hidden]" : `"${value}"`;
  }
  #parse(key, expected, parse) {
    const v = this.get(key);
    if (v === undefined) return undefined;
    const parsed = parse(v);
    if (parsed === undefined) {
      throw new ConfigError(key, `${this.#shown(key, v)} is not valid; expected ${expected}`);
    }
    return parsed;
  }
}
