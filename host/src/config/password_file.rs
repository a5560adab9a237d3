//! The REST API's password file (`rest.auth.basic.file`): one user a line,
//! `name:hash[:role]`, bcrypt hashes (see `rest::auth` for how requests are checked). Parsed
//! here, in the config layer, so a worker config with a bad file is refused at start-up with
//! the file's line.

use std::collections::HashMap;
use std::path::Path;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    ReadWrite,
    /// `GET` and `HEAD` only.
    ReadOnly,
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    /// The bcrypt hash.
    pub(crate) hash: String,
    pub(crate) role: Role,
}

/// A parsed password file.
#[derive(Debug, Clone, Default)]
pub struct PasswordFile {
    pub(crate) users: HashMap<String, User>,
}

impl PasswordFile {
    /// Reads and parses `path`; the error names the line and what is accepted (never a hash).
    pub fn load(path: &Path) -> Result<PasswordFile, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read the file: {e}"))?;
        PasswordFile::parse(&text)
    }

    pub fn parse(text: &str) -> Result<PasswordFile, String> {
        let mut users = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line_no = n + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split(':');
            let name = parts.next().unwrap_or_default().trim();
            let hash = parts.next().map(str::trim);
            let role = parts.next().map(str::trim);
            if parts.next().is_some() {
                return Err(format!(
                    "line {line_no}: too many ':' fields; expected name:hash or name:hash:role"
                ));
            }
            if name.is_empty() {
                return Err(format!(
                    "line {line_no}: empty user name; expected name:hash[:role]"
                ));
            }
            let Some(hash) = hash.filter(|h| !h.is_empty()) else {
                return Err(format!(
                    "line {line_no}: user {name:?} has no password hash; expected name:hash[:role]"
                ));
            };
            if !is_bcrypt(hash) {
                return Err(format!(
                    "line {line_no}: the password hash of user {name:?} is not a bcrypt hash \
                     ($2b$<cost>$<53 characters>, also $2a$ and $2y$); make one with `sluice \
                     hash-password` or `htpasswd -nB {name}`"
                ));
            }
            let role = match role {
                None | Some("") | Some("read-write") => Role::ReadWrite,
                Some("read-only") => Role::ReadOnly,
                Some(other) => {
                    return Err(format!(
                        "line {line_no}: user {name:?} has the unknown role {other:?}; accepted: \
                         read-write (the default), read-only"
                    ))
                }
            };
            if users
                .insert(
                    name.to_string(),
                    User {
                        hash: hash.to_string(),
                        role,
                    },
                )
                .is_some()
            {
                return Err(format!("line {line_no}: user {name:?} is listed twice"));
            }
        }
        Ok(PasswordFile { users })
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

/// Whether `hash` is a bcrypt hash bcrypt can check.
pub(crate) fn is_bcrypt(hash: &str) -> bool {
    ["$2a$", "$2b$", "$2x$", "$2y$"]
        .iter()
        .any(|p| hash.starts_with(p))
        && hash.parse::<bcrypt::HashParts>().is_ok()
}

/// A bcrypt hash (cost 12, a fresh random salt) of `password` (`sluice hash-password`).
/// bcrypt reads at most 72 bytes of a password; a longer one is refused rather than cut.
pub fn hash_password(password: &str) -> Result<String, String> {
    bcrypt::non_truncating_hash(password, bcrypt::DEFAULT_COST)
        .map_err(|e| format!("cannot hash the password: {e}"))
}
