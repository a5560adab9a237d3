//! Which connector config keys hold secrets, and how their values are kept out of REST
//! responses and error messages: shown as `[hidden]` (Kafka's mask in validate responses),
//! accepted back as `[hidden]` meaning "keep the stored value".
//!
//! The rule, in one place so every caller agrees (README "Differences from Kafka Connect"):
//! a key is secret when
//! - the plugin declares it (`secret`, or type PASSWORD) — the connector's plugin for its own
//!   keys, a transform's or predicate's plugin for `transforms.<alias>.<key>` /
//!   `predicates.<alias>.<key>`;
//! - it is, or ends with `.<name>` of, a client key Kafka 3.9 types PASSWORD
//!   (`sasl.jaas.config`, `ssl.key.password`, `ssl.keystore.key`, …), a librdkafka key that
//!   carries secret material (`sasl.password`, `ssl.key.pem`, `sasl.oauthbearer.client.secret`,
//!   …) or a schema-registry credential (`basic.auth.user.info`) — so
//!   `producer.override.sasl.jaas.config` and `value.converter.basic.auth.user.info` are
//!   secret whatever plugin runs;
//! - or any part of its name contains `password`, `secret` or `passphrase` (deliberately broad:
//!   masking a harmless key costs a `[hidden]` in a response, leaking a secret costs more).
//!
//! The design decision to know: a value that is nothing but `${provider:…}` placeholders is
//! shown as written even for a secret key — it says where the secret lives, not what it is —
//! while a value that mixes literal text with placeholders is masked whole (the literal part
//! may be the secret). Resolved values never reach this module's callers' output.

use std::collections::BTreeSet;

use super::providers::only_placeholders;
use super::{get, Config};
use crate::spec::{ConfigDef, ConfigType, PluginHandle, PluginLookup};

/// Kafka's mask for secret values (`ConfigInfos` shows passwords this way).
pub const HIDDEN: &str = "[hidden]";

/// Client keys that hold secrets, matched as the whole key or as its `.`-separated tail.
const CLIENT_SECRETS: &[&str] = &[
    // Kafka 3.9 Producer/Consumer/AdminClientConfig keys of type PASSWORD.
    "sasl.jaas.config",
    "ssl.key.password",
    "ssl.keystore.password",
    "ssl.truststore.password",
    "ssl.keystore.key",
    "ssl.keystore.certificate.chain",
    "ssl.truststore.certificates",
    // librdkafka `_RK_SENSITIVE` keys that carry secret material (not paths or user names).
    "sasl.password",
    "sasl.oauthbearer.config",
    "sasl.oauthbearer.client.secret",
    "sasl.oauthbearer.assertion.private.key.pem",
    "sasl.oauthbearer.assertion.private.key.passphrase",
    "ssl.key.pem",
    // Schema-registry converters' credentials (PASSWORD in Confluent's converters).
    "basic.auth.user.info",
];

/// Name parts that mark a key as secret whatever declares it.
const SECRET_WORDS: &[&str] = &["password", "secret", "passphrase"];

/// Whether the host itself knows `key` as secret (the second and third rules above).
pub fn host_secret(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    CLIENT_SECRETS.iter().any(|name| {
        lower == *name
            || lower
                .strip_suffix(name)
                .is_some_and(|head| head.ends_with('.'))
    }) || SECRET_WORDS.iter().any(|w| lower.contains(w))
}

/// The secret keys of one connector config, and the secret values it holds.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// Keys the plugins declare secret (alias keys with their full prefix).
    declared: BTreeSet<String>,
    /// Non-empty values of secret keys, longest first (what [`Secrets::redact`] replaces).
    values: Vec<String>,
}

impl Secrets {
    /// The secrets of `config`, with plugin declarations looked up in `catalog` (`None`: only
    /// the host's own rules apply).
    pub fn of<L: PluginLookup + ?Sized>(config: &Config, catalog: Option<&L>) -> Secrets {
        Secrets::with_defs(config, |class| {
            catalog
                .and_then(|c| c.lookup(class.trim()))
                .map(|p| p.spec().config.clone())
        })
    }

    /// [`Secrets::of`] with the definitions of a plugin named by `connector.class` or a
    /// `…type` key given by `defs_of`.
    pub fn with_defs(config: &Config, defs_of: impl Fn(&str) -> Option<Vec<ConfigDef>>) -> Secrets {
        let is_declared = |d: &ConfigDef| d.secret || d.ty == ConfigType::Password;
        let mut declared = BTreeSet::new();
        if let Some(defs) = get(config, "connector.class").and_then(&defs_of) {
            declared.extend(
                defs.iter()
                    .filter(|d| is_declared(d))
                    .map(|d| d.name.clone()),
            );
        }
        // Every `transforms.<alias>.type` / `predicates.<alias>.type` present, listed or not:
        // an unlisted alias's keys are still echoed back by GET.
        for (key, class) in config {
            let Some(prefix) = key.strip_suffix("type") else {
                continue;
            };
            if !(prefix.starts_with("transforms.") || prefix.starts_with("predicates.")) {
                continue;
            }
            if let Some(defs) = defs_of(class) {
                declared.extend(
                    defs.iter()
                        .filter(|d| is_declared(d))
                        .map(|d| format!("{prefix}{}", d.name)),
                );
            }
        }
        let mut secrets = Secrets {
            declared,
            values: Vec::new(),
        };
        let mut values: Vec<String> = config
            .iter()
            .filter(|(k, v)| secrets.is_secret(k) && !v.is_empty() && !only_placeholders(v))
            .map(|(_, v)| v.clone())
            .collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        secrets.values = values;
        secrets
    }

    /// These secrets plus the values that `${provider:…}` placeholders of `raw` resolved to in
    /// `resolved` (whatever the key: a provider value never appears in logs or errors).
    pub fn with_resolved_placeholders(mut self, raw: &Config, resolved: &Config) -> Secrets {
        for (key, value) in raw {
            if !value.contains("${") {
                continue;
            }
            if let Some((_, v)) = resolved.iter().find(|(k, _)| k == key) {
                if !v.is_empty() && v != value {
                    self.values.push(v.clone());
                }
            }
        }
        self.values
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        self.values.dedup();
        self
    }

    /// Whether `key` holds a secret (see the module's rule).
    pub fn is_secret(&self, key: &str) -> bool {
        self.declared.contains(key) || host_secret(key)
    }

    /// `config` as a REST response may show it: secret values are `[hidden]`, except values
    /// that are only placeholders.
    pub fn mask(&self, config: &Config) -> Config {
        config
            .iter()
            .map(|(k, v)| {
                let hide = self.is_secret(k) && !only_placeholders(v);
                (k.clone(), if hide { HIDDEN.to_string() } else { v.clone() })
            })
            .collect()
    }

    /// A task config (generated by the plugin from this connector config) as REST may show
    /// it: secret keys masked as in [`Secrets::mask`], and any value that equals a secret
    /// value of the connector config masked too (a plugin may hand a secret on under another
    /// key).
    pub fn mask_task(&self, task_config: &Config) -> Config {
        self.mask(task_config)
            .into_iter()
            .map(|(k, v)| {
                if self.values.contains(&v) {
                    (k, HIDDEN.to_string())
                } else {
                    (k, v)
                }
            })
            .collect()
    }

    /// `text` (an error message, a task's failure trace) with every secret value replaced by
    /// `[hidden]`. Plugins write their own messages and may quote what they were given.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), HIDDEN);
            }
        }
        out
    }

    /// Puts the stored value back for every secret key of `config` whose value is exactly
    /// `[hidden]` (what a GET showed), so GET-then-PUT keeps the secrets. `stored` is the
    /// connector's current config (`None`: it does not exist yet) and `stored_secrets` its
    /// secrets. A `[hidden]` with nothing to keep is an error naming the key; a `[hidden]`
    /// under a key that is not secret is an ordinary value.
    pub fn keep_hidden(
        &self,
        config: &mut Config,
        stored: Option<(&Config, &Secrets)>,
    ) -> Result<(), HiddenWithoutValue> {
        let mut missing = Vec::new();
        for (key, value) in config.iter_mut() {
            if value != HIDDEN {
                continue;
            }
            let secret =
                self.is_secret(key) || stored.is_some_and(|(_, s)| s.is_secret(key.as_str()));
            if !secret {
                continue;
            }
            match stored.and_then(|(c, _)| get(c, key)) {
                Some(kept) => *value = kept.to_string(),
                None => missing.push(key.clone()),
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        Err(HiddenWithoutValue {
            keys: missing,
            exists: stored.is_some(),
        })
    }
}

/// Secret keys sent as `[hidden]` with no stored value to stand for (see
/// [`Secrets::keep_hidden`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "The value of secret config {} is \"{HIDDEN}\", the mask REST responses show for secrets; \
     {}. Send the real value or a ${{provider:…}} placeholder",
    keys.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(", "),
    if *exists {
        "the connector has no stored value for it to keep"
    } else {
        "the connector does not exist yet, so there is no stored value to keep"
    }
)]
pub struct HiddenWithoutValue {
    pub keys: Vec<String>,
    /// The connector exists (its stored config lacks the keys).
    pub exists: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_plugins::{cfg, def};

    /// A source `Db` with a PASSWORD key and a secret-flagged STRING key, and a transform
    /// `Sign` with a secret key.
    fn defs_of(class: &str) -> Option<Vec<ConfigDef>> {
        match class {
            "Db" => Some(vec![
                def("db.url", ConfigType::String, false, false),
                def("db.pass", ConfigType::Password, false, false),
                def("api.token", ConfigType::String, false, true),
            ]),
            "Sign" => Some(vec![
                def("key.id", ConfigType::String, false, false),
                def("signing.key", ConfigType::String, false, true),
            ]),
            _ => None,
        }
    }

    #[test]
    fn the_rule_covers_declared_alias_and_client_keys() {
        let c = cfg(&[
            ("connector.class", "Db"),
            ("db.url", "jdbc:x"),
            ("db.pass", "p4ss"),
            ("api.token", "t0k"),
            ("transforms", "s"),
            ("transforms.s.type", "Sign"),
            ("transforms.s.key.id", "k1"),
            ("transforms.s.signing.key", "sk"),
            ("producer.override.sasl.jaas.config", "jaas"),
            ("consumer.override.ssl.keystore.key", "pem"),
            ("value.converter.basic.auth.user.info", "u:p"),
            ("my.Password.field", "x"),
            ("producer.override.linger.ms", "5"),
        ]);
        let s = Secrets::with_defs(&c, defs_of);
        let secret: Vec<&str> = c
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| s.is_secret(k))
            .collect();
        assert_eq!(
            secret,
            [
                "db.pass",
                "api.token",
                "transforms.s.signing.key",
                "producer.override.sasl.jaas.config",
                "consumer.override.ssl.keystore.key",
                "value.converter.basic.auth.user.info",
                "my.Password.field",
            ]
        );
        // A tail match must be a whole name part: `xsasl.password` is not `sasl.password`…
        assert!(!host_secret("topic.prefix"));
        assert!(host_secret("sasl.password"));
        // …but the word rule is broad on purpose.
        assert!(host_secret("custom.secret"));
    }

    #[test]
    fn provider_values_are_redacted_whatever_the_key() {
        let raw = cfg(&[("connection.url", "${env:DB_URL}"), ("topic", "t")]);
        let resolved = cfg(&[("connection.url", "jdbc:pg://db/x"), ("topic", "t")]);
        let s = Secrets::with_defs(&raw, |_| None).with_resolved_placeholders(&raw, &resolved);
        assert_eq!(
            s.redact("cannot reach jdbc:pg://db/x for topic t"),
            "cannot reach [hidden] for topic t"
        );
    }

    #[test]
    fn mask_hides_values_but_shows_pure_placeholders() {
        let c = cfg(&[
            ("connector.class", "Db"),
            ("db.url", "jdbc:x"),
            ("db.pass", "p4ss"),
            ("api.token", "${file:/etc/s.properties:token}"),
            ("sasl.jaas.config", "a password=\"${env:PW}\";"),
        ]);
        let s = Secrets::with_defs(&c, defs_of);
        assert_eq!(
            s.mask(&c),
            cfg(&[
                ("connector.class", "Db"),
                ("db.url", "jdbc:x"),
                ("db.pass", HIDDEN),
                ("api.token", "${file:/etc/s.properties:token}"),
                ("sasl.jaas.config", HIDDEN),
            ])
        );
        // A plugin that copies a secret under another key in a task config is masked too.
        let task = cfg(&[("db.url", "jdbc:x"), ("task.credential", "p4ss")]);
        assert_eq!(
            s.mask_task(&task),
            cfg(&[("db.url", "jdbc:x"), ("task.credential", HIDDEN)])
        );
        assert_eq!(
            s.redact("login with p4ss failed for jdbc:x"),
            "login with [hidden] failed for jdbc:x"
        );
    }

    #[test]
    fn hidden_round_trips_to_the_stored_value() {
        let stored = cfg(&[("connector.class", "Db"), ("db.pass", "p4ss")]);
        let stored_secrets = Secrets::with_defs(&stored, defs_of);
        let mut put = cfg(&[
            ("connector.class", "Db"),
            ("db.pass", HIDDEN),
            ("db.url", HIDDEN),
        ]);
        let s = Secrets::with_defs(&put, defs_of);
        s.keep_hidden(&mut put, Some((&stored, &stored_secrets)))
            .expect("kept");
        // The secret comes back; a non-secret key may legitimately hold the text "[hidden]".
        assert_eq!(
            put,
            cfg(&[
                ("connector.class", "Db"),
                ("db.pass", "p4ss"),
                ("db.url", HIDDEN)
            ])
        );

        let mut put = cfg(&[("connector.class", "Db"), ("api.token", HIDDEN)]);
        let e = Secrets::with_defs(&put, defs_of)
            .keep_hidden(&mut put, Some((&stored, &stored_secrets)))
            .expect_err("nothing stored");
        assert_eq!(
            e.to_string(),
            "The value of secret config \"api.token\" is \"[hidden]\", the mask REST responses \
             show for secrets; the connector has no stored value for it to keep. Send the real \
             value or a ${provider:…} placeholder"
        );
        let mut create = cfg(&[("connector.class", "Db"), ("db.pass", HIDDEN)]);
        let e = Secrets::with_defs(&create, defs_of)
            .keep_hidden(&mut create, None)
            .expect_err("create")
            .to_string();
        assert!(
            e.contains("\"db.pass\"") && e.contains("does not exist yet"),
            "{e}"
        );
    }
}
