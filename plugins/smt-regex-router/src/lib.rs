//! Kafka's `RegexRouter` SMT: when the **whole** topic matches `regex`, the topic becomes
//! `replacement` with `$1`-style group references (Java's `replaceFirst` on a full match).

use regex::Regex;
use sluice_plugin_sdk::*;

pub struct RegexRouter {
    regex: Regex,
    replacement: String,
}

fn compile(regex: &str) -> Result<Regex, String> {
    Regex::new(&format!("^(?:{regex})$"))
        .map_err(|e| format!("Invalid value {regex} for configuration regex: Invalid regex: {e}"))
}

/// Java's replacement syntax (`$1`, `${name}`, `\$`) into the regex crate's (`${1}`, `$$`).
fn java_replacement(r: &str, groups: usize) -> String {
    let mut out = String::new();
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(o) => out.push(o),
                None => {}
            },
            '$' => {
                if chars.peek() == Some(&'{') {
                    out.push('$');
                } else {
                    // Java's Matcher: the first digit is always the group number; each next
                    // digit joins it only while the number stays a group of the regex
                    // (`$10` with 3 groups is group 1 then a literal 0).
                    let mut group: usize = 0;
                    let mut first = true;
                    while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                        let next = group * 10 + d as usize;
                        if !first && next > groups {
                            break;
                        }
                        group = next;
                        first = false;
                        chars.next();
                    }
                    if first {
                        out.push('$');
                    } else {
                        out.push_str(&format!("${{{group}}}"));
                    }
                }
            }
            o => out.push(o),
        }
    }
    out
}

impl Transform for RegexRouter {
    fn spec() -> PluginSpec {
        PluginSpec::new("org.apache.kafka.connect.transforms.RegexRouter", "0.1.0")
            .alias("RegexRouter")
            .description("Update the record topic using the configured regular expression and replacement string.")
            .config(ConfigDef::string("regex").required().doc("Regular expression to use for matching."))
            .config(ConfigDef::string("replacement").required().doc("Replacement string."))
    }
    fn validate(config: &Config) -> Vec<ConfigProblem> {
        match compile(config.get("regex").unwrap_or_default()) {
            Ok(_) => Vec::new(),
            Err(m) => vec![ConfigProblem {
                key: "regex".into(),
                message: m,
            }],
        }
    }
    fn create(_class: &str, config: Config) -> Result<Self, String> {
        let regex = compile(config.required_str("regex").map_err(|e| e.to_string())?)?;
        // Group 0 is the whole match; `compile`'s wrapper group is non-capturing.
        let groups = regex.captures_len() - 1;
        let replacement = java_replacement(
            config
                .required_str("replacement")
                .map_err(|e| e.to_string())?,
            groups,
        );
        Ok(RegexRouter { regex, replacement })
    }
    fn apply(&mut self, mut record: Record) -> Outcome {
        if self.regex.is_match(&record.topic) {
            record.topic = self
                .regex
                .replace(&record.topic, self.replacement.as_str())
                .into_owned();
        }
        Outcome::Keep(record)
    }
}

sluice_plugin_sdk::export_transform!(RegexRouter);

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn routes_whole_matches_only() {
        let mut r = RegexRouter {
            regex: compile("(.*)-raw").unwrap(),
            replacement: java_replacement("clean-$1", 1),
        };
        let topic = |o: Outcome| match o {
            Outcome::Keep(r) => r.topic,
            o => panic!("{o:?}"),
        };
        assert_eq!(topic(r.apply(Record::new("orders-raw"))), "clean-orders");
        assert_eq!(topic(r.apply(Record::new("orders-raw-x"))), "orders-raw-x");
    }

    #[test]
    fn java_group_references() {
        assert_eq!(java_replacement("$10-\\$-$1", 3), "${1}0-$$-${1}");
        assert_eq!(java_replacement("$12", 12), "${12}");
        assert_eq!(java_replacement("${name}x", 1), "${name}x");
    }
}
