//! Tables for `sluice connectors|plugins` (`-o table`): pure functions from the API's JSON
//! to text, unit-tested here. Design decision: every cell goes through [`printable`], so a
//! connector name or config value can neither break the layout nor send terminal escapes.

use std::fmt::Write as _;

use serde_json::Value as Json;

use super::CliError;

/// Left-aligned columns separated by two spaces; trailing blanks trimmed. Cells are shown
/// with control characters escaped, so a value can neither break the layout nor send
/// terminal escape sequences.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| printable(c)).collect())
        .collect();
    let mut widths = vec![0usize; header.len()];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            let _ = write!(line, "{cell:<w$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn printable(cell: &str) -> String {
    cell.chars()
        .flat_map(|c| match c {
            '\n' => vec!['\\', 'n'],
            '\t' => vec!['\\', 't'],
            '\r' => vec!['\\', 'r'],
            c if c.is_control() => format!("\\u{{{:x}}}", c as u32).chars().collect(),
            c => vec![c],
        })
        .collect()
}

fn shape_error(what: &str) -> CliError {
    CliError::Api {
        status: 200,
        message: format!("unexpected response shape: expected {what}"),
    }
}

fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

/// "NAME (source, 2 tasks)" from a ConnectorInfo.
pub(super) fn summary(info: &Option<Json>) -> String {
    let Some(info) = info else {
        return String::new();
    };
    let tasks = info["tasks"].as_array().map_or(0, Vec::len);
    format!(
        "{} ({}, {tasks} task{})",
        text(&info["name"]),
        text(&info["type"]),
        if tasks == 1 { "" } else { "s" }
    )
}

/// `connectors list`: `{"name":{"status":…,"info":…}}` → NAME TYPE STATE TASKS CLASS.
pub fn render_list(body: &Option<Json>) -> Result<String, CliError> {
    let map = body
        .as_ref()
        .and_then(Json::as_object)
        .ok_or_else(|| shape_error("an object of connectors"))?;
    if map.is_empty() {
        return Ok("No connectors.\n".to_string());
    }
    let mut names: Vec<&String> = map.keys().collect();
    names.sort();
    let rows: Vec<Vec<String>> = names
        .into_iter()
        .map(|name| {
            let c = &map[name];
            let status = &c["status"];
            let ty = status
                .get("type")
                .or_else(|| c["info"].get("type"))
                .map(text)
                .unwrap_or_default();
            vec![
                name.clone(),
                ty,
                text(&status["connector"]["state"]),
                task_summary(&status["tasks"]),
                text(&c["info"]["config"]["connector.class"]),
            ]
        })
        .collect();
    Ok(table(&["NAME", "TYPE", "STATE", "TASKS", "CLASS"], &rows))
}

/// "2 RUNNING, 1 FAILED" (states in first-seen order), "-" for none.
fn task_summary(tasks: &Json) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for t in tasks.as_array().into_iter().flatten() {
        let state = text(&t["state"]);
        match counts.iter_mut().find(|(s, _)| *s == state) {
            Some((_, n)) => *n += 1,
            None => counts.push((state, 1)),
        }
    }
    if counts.is_empty() {
        return "-".to_string();
    }
    counts
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `connectors get`: name, type, tasks, then the config as KEY VALUE (in the API's order).
pub fn render_info(body: &Option<Json>) -> Result<String, CliError> {
    let info = body
        .as_ref()
        .filter(|b| b.is_object())
        .ok_or_else(|| shape_error("a ConnectorInfo object"))?;
    let tasks: Vec<String> = info["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| text(&t["task"]))
        .collect();
    let mut out = format!(
        "Name:   {}\nType:   {}\nTasks:  {}\n\n",
        printable(&text(&info["name"])),
        text(&info["type"]),
        if tasks.is_empty() {
            "-".to_string()
        } else {
            tasks.join(", ")
        }
    );
    let rows: Vec<Vec<String>> = info["config"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| vec![k.clone(), text(v)])
        .collect();
    out.push_str(&table(&["KEY", "VALUE"], &rows));
    Ok(out)
}

/// `connectors status`: one row for the connector, one per task; a FAILED instance's trace
/// shows its first line (`-o json` has the whole trace).
pub fn render_status(body: &Option<Json>) -> Result<String, CliError> {
    let s = body
        .as_ref()
        .filter(|b| b.is_object())
        .ok_or_else(|| shape_error("a ConnectorStateInfo object"))?;
    let first_line = |v: &Json| text(v).lines().next().unwrap_or_default().to_string();
    let mut rows = vec![vec![
        "connector".to_string(),
        text(&s["connector"]["state"]),
        text(&s["connector"]["worker_id"]),
        first_line(&s["connector"]["trace"]),
    ]];
    for t in s["tasks"].as_array().into_iter().flatten() {
        rows.push(vec![
            format!("task {}", text(&t["id"])),
            text(&t["state"]),
            text(&t["worker_id"]),
            first_line(&t["trace"]),
        ]);
    }
    Ok(format!(
        "Connector {} ({})\n{}",
        printable(&text(&s["name"])),
        text(&s["type"]),
        table(&["INSTANCE", "STATE", "WORKER", "TRACE"], &rows)
    ))
}

/// `connectors offsets`: PARTITION OFFSET as compact JSON.
pub fn render_offsets(body: &Option<Json>) -> Result<String, CliError> {
    let offsets = body
        .as_ref()
        .and_then(|b| b["offsets"].as_array())
        .ok_or_else(|| shape_error("{\"offsets\":[…]}"))?;
    if offsets.is_empty() {
        return Ok("No offsets committed.\n".to_string());
    }
    let rows: Vec<Vec<String>> = offsets
        .iter()
        .map(|o| vec![o["partition"].to_string(), o["offset"].to_string()])
        .collect();
    Ok(table(&["PARTITION", "OFFSET"], &rows))
}

/// `plugins list`: CLASS TYPE VERSION, in the API's order.
pub fn render_plugins(body: &Option<Json>) -> Result<String, CliError> {
    let plugins = body
        .as_ref()
        .and_then(Json::as_array)
        .ok_or_else(|| shape_error("an array of plugins"))?;
    let rows: Vec<Vec<String>> = plugins
        .iter()
        .map(|p| vec![text(&p["class"]), text(&p["type"]), text(&p["version"])])
        .collect();
    Ok(table(&["CLASS", "TYPE", "VERSION"], &rows))
}

/// `plugins validate`: "valid", or every error as KEY VALUE ERROR.
pub fn render_validation(body: &Option<Json>) -> Result<String, CliError> {
    let v = body
        .as_ref()
        .filter(|b| b.is_object())
        .ok_or_else(|| shape_error("a ConfigInfos object"))?;
    let configs = v["configs"]
        .as_array()
        .ok_or_else(|| shape_error("a ConfigInfos object with \"configs\""))?;
    let name = printable(&text(&v["name"]));
    let count = v["error_count"].as_u64().unwrap_or(0);
    if count == 0 {
        return Ok(format!(
            "The config for {name} is valid ({} keys checked).\n",
            configs.len()
        ));
    }
    let mut rows = Vec::new();
    for c in configs {
        let value = &c["value"];
        for e in value["errors"].as_array().into_iter().flatten() {
            rows.push(vec![text(&value["name"]), text(&value["value"]), text(e)]);
        }
    }
    Ok(format!(
        "The config for {name} has {count} error(s):\n{}",
        table(&["KEY", "VALUE", "ERROR"], &rows)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_aligns_columns_and_escapes_control_characters() {
        let t = table(
            &["NAME", "STATE"],
            &[
                vec!["a".into(), "RUNNING".into()],
                vec!["long-name\n\u{1b}[31m".into(), "".into()],
            ],
        );
        assert_eq!(
            t,
            "NAME                   STATE\n\
             a                      RUNNING\n\
             long-name\\n\\u{1b}[31m\n"
        );
    }

    #[test]
    fn list_table_is_sorted_and_summarises_tasks() {
        let body = json!({
            "zeta": {"status": {"name": "zeta", "connector": {"state": "RUNNING", "worker_id": "w:1"},
                                "tasks": [{"id": 0, "state": "RUNNING", "worker_id": "w:1"},
                                          {"id": 1, "state": "FAILED", "worker_id": "w:1", "trace": "boom"},
                                          {"id": 2, "state": "RUNNING", "worker_id": "w:1"}],
                                "type": "sink"},
                     "info": {"name": "zeta", "config": {"connector.class": "FileStreamSink"}, "tasks": [], "type": "sink"}},
            "alpha": {"status": {"name": "alpha", "connector": {"state": "STOPPED", "worker_id": "w:1"},
                                 "tasks": [], "type": "source"},
                      "info": {"name": "alpha", "config": {"connector.class": "datagen"}, "tasks": [], "type": "source"}}
        });
        assert_eq!(
            render_list(&Some(body)).expect("renders"),
            "NAME   TYPE    STATE    TASKS                CLASS\n\
             alpha  source  STOPPED  -                    datagen\n\
             zeta   sink    RUNNING  2 RUNNING, 1 FAILED  FileStreamSink\n"
        );
        assert_eq!(
            render_list(&Some(json!({}))).expect("empty"),
            "No connectors.\n"
        );
        assert!(render_list(&Some(json!(["a"]))).is_err());
    }

    #[test]
    fn status_table_shows_the_first_line_of_a_trace() {
        let body = json!({"name": "src", "connector": {"state": "RUNNING", "worker_id": "127.0.0.1:8083"},
            "tasks": [{"id": 0, "state": "FAILED", "worker_id": "127.0.0.1:8083",
                       "trace": "ConnectException: file not found\n\tat plugin"}],
            "type": "source"});
        assert_eq!(
            render_status(&Some(body)).expect("renders"),
            "Connector src (source)\n\
             INSTANCE   STATE    WORKER          TRACE\n\
             connector  RUNNING  127.0.0.1:8083\n\
             task 0     FAILED   127.0.0.1:8083  ConnectException: file not found\n"
        );
    }

    #[test]
    fn info_offsets_plugins_and_validation_tables() {
        let info = json!({"name": "src", "config": {"connector.class": "X", "tasks.max": "2"},
                          "tasks": [{"connector": "src", "task": 0}, {"connector": "src", "task": 1}],
                          "type": "source"});
        assert_eq!(
            render_info(&Some(info.clone())).expect("info"),
            "Name:   src\nType:   source\nTasks:  0, 1\n\n\
             KEY              VALUE\n\
             connector.class  X\n\
             tasks.max        2\n"
        );
        assert_eq!(summary(&Some(info)), "src (source, 2 tasks)");
        let offsets = json!({"offsets": [{"partition": {"filename": "/in.txt"}, "offset": {"position": 42}}]});
        assert_eq!(
            render_offsets(&Some(offsets)).expect("offsets"),
            "PARTITION               OFFSET\n{\"filename\":\"/in.txt\"}  {\"position\":42}\n"
        );
        assert_eq!(
            render_offsets(&Some(json!({"offsets": []}))).expect("none"),
            "No offsets committed.\n"
        );
        let plugins = json!([{"class": "datagen", "type": "source", "version": "0.1.0"},
                             {"class": "org.apache.kafka.connect.transforms.Cast$Value", "type": "transformation"}]);
        assert_eq!(
            render_plugins(&Some(plugins)).expect("plugins"),
            "CLASS                                           TYPE            VERSION\n\
             datagen                                         source          0.1.0\n\
             org.apache.kafka.connect.transforms.Cast$Value  transformation\n"
        );
        let validation = json!({"name": "FileStreamSource", "error_count": 2, "groups": ["Common"],
            "configs": [
                {"definition": null, "value": {"name": "tasks.max", "value": "x", "recommended_values": [],
                  "errors": ["Invalid value x for configuration tasks.max: Not a number of type INT"], "visible": true}},
                {"definition": null, "value": {"name": "topic", "value": null, "recommended_values": [],
                  "errors": ["Missing required configuration \"topic\" which has no default value."], "visible": true}},
                {"definition": null, "value": {"name": "file", "value": "/x", "recommended_values": [],
                  "errors": [], "visible": true}}]});
        assert_eq!(
            render_validation(&Some(validation)).expect("validation"),
            "The config for FileStreamSource has 2 error(s):\n\
             KEY        VALUE  ERROR\n\
             tasks.max  x      Invalid value x for configuration tasks.max: Not a number of type INT\n\
             topic             Missing required configuration \"topic\" which has no default value.\n"
        );
        let valid = json!({"name": "X", "error_count": 0, "groups": [], "configs": [{}, {}]});
        assert_eq!(
            render_validation(&Some(valid)).expect("valid"),
            "The config for X is valid (2 keys checked).\n"
        );
    }
}
