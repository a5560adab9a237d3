//! Reading config files: Java `.properties` and Kafka Connect's two JSON connector forms.
//!
//! `.properties` follows `java.util.Properties` (via the `java-properties` crate): `=`, `:` or
//! whitespace separators, `\` continuations, `#`/`!` comments, escapes, last duplicate wins.
//! One deliberate difference: a file that is valid UTF-8 is read as UTF-8 (Java reads
//! ISO-8859-1), because that is what people write today; other files fall back to Java's
//! ISO-8859-1, so an old file still reads the same.
//!
//! JSON connector files are accepted as `{"name":…,"config":{…}}` (Kafka's REST create body,
//! which `connect-standalone` also reads) or flat `{"name":…,"connector.class":…}`. Numbers and
//! booleans are turned into strings the way Kafka prints them; Kafka's REST takes only strings,
//! but in a file being lenient costs nothing.

use std::path::Path;

use serde_json::Value as Json;

use super::{get, set, Config, ConfigError};

/// Reads a Java `.properties` file into a config, in file order (the last duplicate wins).
pub fn read_properties(path: &Path) -> Result<Config, ConfigError> {
    read_properties_with_lines(path).map(|(config, _)| config)
}

/// Like [`read_properties`], plus the (1-based) line of every key occurrence, so later checks
/// can point at the line of a bad value.
pub(super) fn read_properties_with_lines(
    path: &Path,
) -> Result<(Config, Vec<(String, usize)>), ConfigError> {
    parse_properties(path, &read(path)?)
}

/// The `.properties` text `bytes` of the file `path` (named in errors).
fn parse_properties(
    path: &Path,
    bytes: &[u8],
) -> Result<(Config, Vec<(String, usize)>), ConfigError> {
    let encoding = if std::str::from_utf8(bytes).is_ok() {
        encoding_rs::UTF_8
    } else {
        encoding_rs::WINDOWS_1252
    };
    let mut config: Config = Vec::new();
    let mut lines = Vec::new();
    for line in java_properties::PropertiesIter::new_with_encoding(bytes, encoding) {
        let line = line.map_err(|e| {
            // The crate's Display appends "(line_number = N)"; we put the line in front.
            #[allow(deprecated)]
            let what = std::error::Error::description(&e).to_string();
            ConfigError::Syntax {
                path: path.to_path_buf(),
                line: e.line_number().unwrap_or(0),
                column: None,
                message: what,
            }
        })?;
        let number = line.line_number();
        if let java_properties::LineContent::KVPair(k, v) = line.consume_content() {
            set(&mut config, &k, &v);
            lines.push((k, number));
        }
    }
    Ok((config, lines))
}

/// Reads a connector file: `.properties`, or `.json` in either `{"name":…,"config":{…}}` or flat
/// `{"name":…,"connector.class":…}` form. Returns the raw config (with `name` injected from the
/// JSON `name` if the config lacks it). Errors name the file and line (and column for JSON).
pub fn load_connector(path: &Path) -> Result<Config, ConfigError> {
    parse_connector(path, &read(path)?)
}

/// [`load_connector`] of a file's content `bytes`; `path` picks the format by its extension
/// and is named in errors.
pub fn parse_connector(path: &Path, bytes: &[u8]) -> Result<Config, ConfigError> {
    let is_json = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        parse_json_connector(path, bytes)
    } else {
        parse_properties(path, bytes).map(|(config, _)| config)
    }
}

fn read(path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn parse_json_connector(path: &Path, bytes: &[u8]) -> Result<Config, ConfigError> {
    let text = String::from_utf8_lossy(bytes);
    let syntax = |line: usize, column: Option<usize>, message: String| ConfigError::Syntax {
        path: path.to_path_buf(),
        line,
        column,
        message,
    };
    let doc: Json = serde_json::from_str(&text).map_err(|e| {
        // serde_json appends " at line L column C"; strip it since we print the position first.
        let full = e.to_string();
        let what = full.split(" at line ").next().unwrap_or(&full).to_string();
        syntax(e.line(), Some(e.column()), what)
    })?;
    let Json::Object(top) = doc else {
        return Err(syntax(
            1,
            Some(1),
            format!(
                "expected a JSON object ({{\"name\":…,\"config\":{{…}}}} or flat \
                 {{\"name\":…,\"connector.class\":…}}), found {}",
                json_kind(&doc)
            ),
        ));
    };
    let line_of = |key: &str| line_of_key(&text, key);

    let nested = matches!(top.get("config"), Some(Json::Object(_)));
    let mut config: Config = Vec::new();
    let mut problems = Vec::new();
    if nested {
        let mut name = None;
        for (key, value) in &top {
            match (key.as_str(), value) {
                ("config", Json::Object(inner)) => {
                    for (k, v) in inner {
                        match stringify(v) {
                            Ok(s) => set(&mut config, k, &s),
                            Err(kind) => problems.push(value_problem(k, kind, line_of(k))),
                        }
                    }
                }
                ("name", Json::String(s)) => name = Some(s.clone()),
                ("name", other) => problems.push(format!(
                    "{}\"name\" must be a string, found {}",
                    at(line_of("name")),
                    json_kind(other)
                )),
                // Kafka 3.7+ create-request field; the state is applied by the runtime.
                // TODO(next): expose `initial_state` to the standalone runner.
                ("initial_state", _) => {}
                (other, _) => problems.push(format!(
                    "{}unknown top-level key \"{other}\": expected only \"name\", \"config\" and \
                     \"initial_state\" (or a flat object of config keys without \"config\")",
                    at(line_of(other))
                )),
            }
        }
        if let Some(name) = name {
            match get(&config, "name") {
                None => config.insert(0, ("name".to_string(), name)),
                Some(inner) if inner != name => problems.push(format!(
                    "Connector name configuration ({inner}) doesn't match connector name ({name})"
                )),
                Some(_) => {}
            }
        }
    } else {
        for (k, v) in &top {
            match stringify(v) {
                Ok(s) => set(&mut config, k, &s),
                Err(kind) => problems.push(value_problem(k, kind, line_of(k))),
            }
        }
    }
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            problems,
        })
    }
}

/// A config value as Kafka would print it; `Err` names the JSON kind that cannot be a value.
fn stringify(v: &Json) -> Result<String, &'static str> {
    match v {
        Json::String(s) => Ok(s.clone()),
        Json::Number(n) => Ok(n.to_string()),
        Json::Bool(b) => Ok(b.to_string()),
        other => Err(json_kind(other)),
    }
}

fn value_problem(key: &str, kind: &str, line: Option<usize>) -> String {
    format!(
        "{}the value of \"{key}\" is {kind}; config values must be strings (numbers and \
         booleans are accepted)",
        at(line)
    )
}

fn at(line: Option<usize>) -> String {
    line.map(|l| format!("line {l}: ")).unwrap_or_default()
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// The 1-based line where `"key":` first appears (serde_json keeps no positions in a `Value`;
/// this is good enough to point a user at the key).
fn line_of_key(text: &str, key: &str) -> Option<usize> {
    let quoted = serde_json::to_string(key).ok()?;
    let mut from = 0;
    while let Some(pos) = text[from..].find(&quoted) {
        let end = from + pos + quoted.len();
        if text[end..].trim_start().starts_with(':') {
            return Some(text[..from + pos].matches('\n').count() + 1);
        }
        from = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(name: &str, content: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(name);
        let mut f = std::fs::File::create(&path).expect("create");
        f.write_all(content.as_bytes()).expect("write");
        (dir, path)
    }

    fn pairs(c: &Config) -> Vec<(&str, &str)> {
        c.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    #[test]
    fn properties_follow_java_semantics() {
        let (_d, p) = file(
            "c.properties",
            "# comment\n! also a comment\nname=local-file-source\nconnector.class : FileStreamSource\n\
             tasks.max 1\nfile=/tmp/a\\\n  b.txt\nunicode=caf\\u00e9 é\nname=renamed\n  \n",
        );
        let c = load_connector(&p).expect("parses");
        assert_eq!(
            pairs(&c),
            vec![
                ("name", "renamed"),
                ("connector.class", "FileStreamSource"),
                ("tasks.max", "1"),
                ("file", "/tmp/ab.txt"),
                ("unicode", "café é"),
            ]
        );
    }

    #[test]
    fn properties_error_names_file_and_line() {
        let (_d, p) = file("bad.properties", "a=1\nb=2\nc=\\u00zz\n");
        let e = load_connector(&p).expect_err("must fail").to_string();
        assert!(e.starts_with(&format!("{}:3: ", p.display())), "{e}");
        assert!(e.contains("Malformed \\uxxxx encoding"), "{e}");
        assert!(!e.contains("line_number"), "{e}");
    }

    #[test]
    fn missing_file_names_the_file() {
        let e = load_connector(Path::new("/nonexistent/x.json"))
            .expect_err("must fail")
            .to_string();
        assert!(e.contains("cannot read /nonexistent/x.json"), "{e}");
    }

    #[test]
    fn json_nested_form_injects_name() {
        let (_d, p) = file(
            "c.json",
            r#"{"name": "sink-1", "config": {"connector.class": "FileStreamSink", "tasks.max": 2,
                "file.flag": true, "topics": "a,b"}}"#,
        );
        let c = load_connector(&p).expect("parses");
        assert_eq!(
            pairs(&c),
            vec![
                ("name", "sink-1"),
                ("connector.class", "FileStreamSink"),
                ("tasks.max", "2"),
                ("file.flag", "true"),
                ("topics", "a,b"),
            ]
        );
    }

    #[test]
    fn json_flat_form_keeps_order() {
        let (_d, p) = file(
            "c.json",
            r#"{"name": "src", "connector.class": "FileStreamSource", "batch.size": 1.5}"#,
        );
        let c = load_connector(&p).expect("parses");
        assert_eq!(
            pairs(&c),
            vec![
                ("name", "src"),
                ("connector.class", "FileStreamSource"),
                ("batch.size", "1.5")
            ]
        );
    }

    #[test]
    fn json_syntax_error_names_file_line_and_column() {
        let (_d, p) = file("c.json", "{\n  \"name\": \"x\",\n  \"tasks.max\": ,\n}");
        let e = load_connector(&p).expect_err("must fail");
        match &e {
            ConfigError::Syntax { line, column, .. } => {
                assert_eq!(*line, 3);
                assert_eq!(*column, Some(16));
            }
            other => panic!("unexpected {other:?}"),
        }
        let s = e.to_string();
        assert!(
            s.starts_with(&format!("{}:3:16: expected value", p.display())),
            "{s}"
        );
    }

    #[test]
    fn json_nested_values_are_errors_naming_the_key() {
        let (_d, p) = file(
            "c.json",
            "{\"name\": \"x\",\n \"config\": {\n  \"connector.class\": \"A\",\n  \"transforms\": [\"a\"],\n  \"x\": {\"y\": 1},\n  \"n\": null}}",
        );
        let e = load_connector(&p).expect_err("must fail").to_string();
        assert!(e.contains(&p.display().to_string()), "{e}");
        assert!(
            e.contains("line 4: the value of \"transforms\" is an array"),
            "{e}"
        );
        assert!(e.contains("line 5: the value of \"x\" is an object"), "{e}");
        assert!(e.contains("line 6: the value of \"n\" is null"), "{e}");
    }

    #[test]
    fn json_name_mismatch_and_unknown_top_level_keys() {
        let (_d, p) = file(
            "c.json",
            r#"{"name": "a", "config": {"name": "b"}, "conifg": {}}"#,
        );
        let e = load_connector(&p).expect_err("must fail").to_string();
        assert!(
            e.contains("Connector name configuration (b) doesn't match connector name (a)"),
            "{e}"
        );
        assert!(e.contains("unknown top-level key \"conifg\""), "{e}");
    }

    #[test]
    fn json_must_be_an_object() {
        let (_d, p) = file("c.json", "[1]");
        let e = load_connector(&p).expect_err("must fail").to_string();
        assert!(e.contains(":1:1: expected a JSON object"), "{e}");
        assert!(e.contains("found an array"), "{e}");
    }
}
