//! The SMT chain of a connector config: `transforms=a,b` with optional `predicates`,
//! resolved against the plugin catalog into a [`ChainSpec`] that each task opens.
//!
//! Design decision: resolving keeps the plugin each alias named (not its class name), so a
//! task opens exactly the plugin the chain was checked against, even if `plugin.path` changes
//! in between. Every problem is collected, with Kafka's wording and the full
//! `transforms.<alias>.<key>` name.

use std::collections::HashSet;

use super::{bool_key, get};
use crate::spec::{Config, ConfigProblem, PluginHandle, PluginKind, PluginLookup};

/// A predicate declared in `predicates`, with its own keys (`predicates.<alias>.*` without
/// `type`).
#[derive(Debug, Clone, PartialEq)]
pub struct PredicateSpec<P> {
    pub alias: String,
    /// `predicates.<alias>.type` as written (one plugin may answer to several names).
    pub class: String,
    pub plugin: P,
    pub config: Config,
}

/// One transform of `transforms`, with its own keys and the predicate that gates it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepSpec<P> {
    pub alias: String,
    /// `transforms.<alias>.type` as written.
    pub class: String,
    pub plugin: P,
    /// `transforms.<alias>.*` without `type`, `predicate` and `negate`.
    pub config: Config,
    pub predicate: Option<PredicateSpec<P>>,
    /// Apply the transform where the predicate does *not* hold.
    pub negate: bool,
}

/// A validated chain, in `transforms` order, ready to be opened by each task.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainSpec<P> {
    pub steps: Vec<StepSpec<P>>,
}

impl<P> Default for ChainSpec<P> {
    fn default() -> Self {
        ChainSpec { steps: Vec::new() }
    }
}

/// `<prefix>*` keys with the prefix removed, in order (`transforms.<a>.type` etc. excluded).
fn sub_config(raw: &Config, prefix: &str, exclude: &[&str]) -> Config {
    raw.iter()
        .filter_map(|(k, v)| {
            let rest = k.strip_prefix(prefix)?;
            (!exclude.contains(&rest)).then(|| (rest.to_string(), v.clone()))
        })
        .collect()
}

fn aliases(raw: &Config, key: &str, problems: &mut Vec<ConfigProblem>) -> Vec<String> {
    let value = get(raw, key).unwrap_or_default();
    let list: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let unique: HashSet<&String> = list.iter().collect();
    if unique.len() != list.len() {
        problems.push(ConfigProblem {
            key: key.to_string(),
            message: format!(
                "Invalid value {value} for configuration {key}: Duplicate alias provided."
            ),
        });
    }
    list
}

fn available<L: PluginLookup + ?Sized>(catalog: &L, kind: PluginKind) -> String {
    let mut names: Vec<String> = catalog
        .all()
        .iter()
        .filter(|p| p.spec().kind == kind)
        .flat_map(|p| std::iter::once(p.spec().name.clone()).chain(p.spec().aliases.clone()))
        .collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        format!(
            "(none: no {} plugin was found in plugin.path)",
            kind.rest_name()
        )
    } else {
        names.join(", ")
    }
}

/// Finds `<prefix>type` in the catalog as a plugin of `kind`, or records the problem.
fn resolve_type<L: PluginLookup + ?Sized>(
    raw: &Config,
    prefix: &str,
    kind: PluginKind,
    catalog: &L,
    problems: &mut Vec<ConfigProblem>,
) -> Option<(String, L::Plugin)> {
    let key = format!("{prefix}type");
    let class = get(raw, &key).map(str::trim).unwrap_or_default();
    if class.is_empty() {
        problems.push(ConfigProblem {
            message: format!(
                "Missing required configuration \"{key}\" which has no default value."
            ),
            key,
        });
        return None;
    }
    let what = match kind {
        PluginKind::Predicate => "predicates",
        _ => "transformations",
    };
    match catalog.lookup(class) {
        Some(p) if p.spec().kind == kind => Some((class.to_string(), p)),
        found => {
            let why = match found {
                Some(p) => format!("{} is a {}", p.spec().name, p.spec().kind.rest_name()),
                None => format!("Class {class} could not be found"),
            };
            problems.push(ConfigProblem {
                message: format!(
                    "Invalid value {class} for configuration {key}: {why}; available {what} are: {}",
                    available(catalog, kind)
                ),
                key,
            });
            None
        }
    }
}

/// Checks the plugin's required keys and its own `validate` on a sub-config; keys are
/// reported with their full `<prefix><key>` name.
fn check_plugin(
    plugin: &impl PluginHandle,
    prefix: &str,
    config: &Config,
    problems: &mut Vec<ConfigProblem>,
) {
    for def in &plugin.spec().config {
        if def.required && def.default.is_none() && get(config, &def.name).is_none() {
            let key = format!("{prefix}{}", def.name);
            problems.push(ConfigProblem {
                message: format!(
                    "Missing required configuration \"{key}\" which has no default value."
                ),
                key,
            });
        }
    }
    match plugin.validate(config) {
        Ok(found) => problems.extend(found.into_iter().map(|p| ConfigProblem {
            key: format!("{prefix}{}", p.key),
            message: p.message,
        })),
        Err(e) => problems.push(ConfigProblem {
            key: format!("{prefix}type"),
            message: format!(
                "{} could not validate its configuration: {e}",
                plugin.spec().name
            ),
        }),
    }
}

impl<P: PluginHandle> ChainSpec<P> {
    /// Resolves `transforms` / `predicates` against the catalog; returns every problem found.
    pub fn resolve<L>(raw: &Config, catalog: &L) -> Result<ChainSpec<P>, Vec<ConfigProblem>>
    where
        L: PluginLookup<Plugin = P> + ?Sized,
    {
        let mut problems = Vec::new();
        let mut predicates = Vec::new();
        for alias in aliases(raw, "predicates", &mut problems) {
            let prefix = format!("predicates.{alias}.");
            if let Some((class, plugin)) =
                resolve_type(raw, &prefix, PluginKind::Predicate, catalog, &mut problems)
            {
                let config = sub_config(raw, &prefix, &["type"]);
                check_plugin(&plugin, &prefix, &config, &mut problems);
                predicates.push(PredicateSpec {
                    alias,
                    class,
                    plugin,
                    config,
                });
            }
        }
        let declared: Vec<String> = aliases(raw, "predicates", &mut Vec::new());
        let mut steps = Vec::new();
        for alias in aliases(raw, "transforms", &mut problems) {
            let prefix = format!("transforms.{alias}.");
            let pred_key = format!("{prefix}predicate");
            let negate_key = format!("{prefix}negate");
            let pred_alias = get(raw, &pred_key).map(str::trim).filter(|s| !s.is_empty());
            let negate = bool_key(raw, &negate_key, &mut problems);
            if pred_alias.is_none() && get(raw, &negate_key).is_some() {
                problems.push(ConfigProblem {
                    key: negate_key.clone(),
                    message: format!(
                        "Invalid value {} for configuration {negate_key}: negate can only be used \
                         together with a predicate; set {pred_key} too",
                        get(raw, &negate_key).unwrap_or_default()
                    ),
                });
            }
            let predicate = match pred_alias {
                None => None,
                Some(p) => match predicates.iter().find(|s| s.alias == p) {
                    Some(s) => Some(s.clone()),
                    None => {
                        // A declared predicate whose type failed is already reported.
                        if !declared.iter().any(|d| d == p) {
                            problems.push(ConfigProblem {
                                key: pred_key.clone(),
                                message: format!(
                                    "Invalid value {p} for configuration {pred_key}: \
                                     Predicate '{p}' is not defined; the predicates list \
                                     (predicates) has: [{}]",
                                    declared.join(", ")
                                ),
                            });
                        }
                        None
                    }
                },
            };
            if let Some((class, plugin)) =
                resolve_type(raw, &prefix, PluginKind::Transform, catalog, &mut problems)
            {
                let config = sub_config(raw, &prefix, &["type", "predicate", "negate"]);
                check_plugin(&plugin, &prefix, &config, &mut problems);
                steps.push(StepSpec {
                    alias,
                    class,
                    plugin,
                    config,
                    predicate,
                    negate,
                });
            }
        }
        if problems.is_empty() {
            Ok(ChainSpec { steps })
        } else {
            Err(problems)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_plugins::{cfg, def, FakeCatalog, FakePlugin};
    use crate::spec::ConfigType;

    /// `x.Suffix` (requires `suffix`), `x.Drop`, the predicate `x.Equals` and a sink.
    fn catalog() -> FakeCatalog {
        FakeCatalog(vec![
            FakePlugin::new(
                "x.Suffix",
                PluginKind::Transform,
                vec![def("suffix", ConfigType::String, true, false)],
            ),
            FakePlugin::new("x.Drop", PluginKind::Transform, vec![]),
            FakePlugin::new("x.Equals", PluginKind::Predicate, vec![]),
            FakePlugin::new("x.SomeSinkConnector", PluginKind::Sink, vec![]),
        ])
    }

    #[test]
    fn steps_keep_their_keys_predicate_and_negation_in_order() {
        let cat = catalog();
        let chain = ChainSpec::resolve(
            &cfg(&[
                ("transforms", " a ,b"),
                ("transforms.a.type", "x.Suffix"),
                ("transforms.a.suffix", "-1"),
                ("transforms.b.type", "x.Drop"),
                ("transforms.b.predicate", "isA"),
                ("transforms.b.negate", "TRUE"),
                ("predicates", "isA"),
                ("predicates.isA.type", "x.Equals"),
                ("predicates.isA.equals", "a"),
            ]),
            &cat,
        )
        .unwrap_or_else(|p| panic!("{p:?}"));
        let equals = PredicateSpec {
            alias: "isA".into(),
            class: "x.Equals".into(),
            plugin: cat.0[2].clone(),
            config: cfg(&[("equals", "a")]),
        };
        assert_eq!(
            chain.steps,
            vec![
                StepSpec {
                    alias: "a".into(),
                    class: "x.Suffix".into(),
                    plugin: cat.0[0].clone(),
                    config: cfg(&[("suffix", "-1")]),
                    predicate: None,
                    negate: false,
                },
                StepSpec {
                    alias: "b".into(),
                    class: "x.Drop".into(),
                    plugin: cat.0[1].clone(),
                    config: cfg(&[]),
                    predicate: Some(equals),
                    negate: true,
                },
            ]
        );
        assert!(ChainSpec::resolve(&cfg(&[]), &cat).is_ok_and(|c| c.is_empty()));
    }

    #[test]
    fn config_errors_use_kafka_wording_and_are_all_reported() {
        let problems = ChainSpec::resolve(
            &cfg(&[
                ("transforms", "a,a,b,c,d"),
                ("transforms.a.type", "x.Missing"),
                ("transforms.b.type", "x.Suffix"),
                ("transforms.b.negate", "true"),
                ("transforms.c.type", "x.Drop"),
                ("transforms.c.predicate", "nope"),
                ("transforms.d.type", "x.SomeSinkConnector"),
            ]),
            &catalog(),
        )
        .err()
        .unwrap_or_default();
        let text: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {}", p.key, p.message))
            .collect();
        let has = |needle: &str| text.iter().any(|t| t.contains(needle));
        assert!(has("transforms: Invalid value a,a,b,c,d for configuration transforms: Duplicate alias provided."), "{text:#?}");
        assert!(has("Invalid value x.Missing for configuration transforms.a.type: Class x.Missing could not be found; available transformations are: x.Drop, x.Suffix"), "{text:#?}");
        assert!(has("transforms.b.negate: Invalid value true for configuration transforms.b.negate: negate can only be used together with a predicate"), "{text:#?}");
        assert!(
            has("Missing required configuration \"transforms.b.suffix\""),
            "{text:#?}"
        );
        assert!(has("transforms.c.predicate: Invalid value nope for configuration transforms.c.predicate: Predicate 'nope' is not defined"), "{text:#?}");
        assert!(has("transforms.d.type: Invalid value x.SomeSinkConnector for configuration transforms.d.type: x.SomeSinkConnector is a sink"), "{text:#?}");
    }
}
