//! The clients against the real servers on this machine (PostgreSQL 15 on 127.0.0.1:5432,
//! trust auth; MariaDB 10.11 on 127.0.0.1:3306, root without password; database `test` on
//! both, prepared by `cargo xtask test`). A server that is not reachable fails the test.

use sql_wire::mysql::MyConnection;
use sql_wire::pg::{oid, PgConnection};
use sql_wire::{ConnectParams, Error};

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}_{}_{nanos}", std::process::id())
}

fn pg() -> PgConnection {
    let p = ConnectParams::from_jdbc_url(
        "jdbc:postgresql://127.0.0.1:5432/test",
        Some("postgres"),
        None,
    )
    .unwrap();
    PgConnection::connect(&p)
        .unwrap_or_else(|e| panic!("PostgreSQL must run on 127.0.0.1:5432: {e}"))
}

fn my(user: &str, password: Option<&str>) -> Result<MyConnection, Error> {
    let p =
        ConnectParams::from_jdbc_url("jdbc:mariadb://127.0.0.1:3306/test", Some(user), password)
            .unwrap();
    MyConnection::connect(&p)
}

#[test]
fn pg_simple_and_extended_queries_with_types_and_errors() {
    let mut c = pg();
    assert!(c.server_version_num().unwrap() >= 100000);
    let t = unique("wire_pg");
    c.simple_query(&format!(
        "CREATE TABLE {t} (id serial PRIMARY KEY, name text, amount numeric(10,2), b bytea, ok boolean, at timestamptz)"
    ))
    .unwrap();
    let n = c
        .execute(
            &format!("INSERT INTO {t} (name, amount, b, ok, at) VALUES ($1, $2, $3, $4, $5), ($6, NULL, NULL, NULL, NULL)"),
            &[Some("it's"), Some("12.50"), Some("\\x00ff"), Some("true"), Some("2024-01-02 03:04:05.123+00"), Some("second")],
        )
        .unwrap();
    assert_eq!(n, 2);
    let r = c
        .query(
            &format!("SELECT id, name, amount, b, ok, at FROM {t} WHERE id >= $1 ORDER BY id"),
            &[Some("1")],
        )
        .unwrap();
    assert_eq!(r.rows.len(), 2);
    assert_eq!(r.columns[2].type_oid, oid::NUMERIC);
    assert_eq!(r.columns[2].numeric_precision_scale(), Some((10, 2)));
    assert_eq!(
        r.rows[0][1..],
        [
            Some("it's".to_string()),
            Some("12.50".to_string()),
            Some("\\x00ff".to_string()),
            Some("t".to_string()),
            Some("2024-01-02 03:04:05.123+00".to_string())
        ]
    );
    assert_eq!(r.rows[1][2], None);
    let multi = c
        .simple_query(&format!("SELECT count(*) FROM {t}; SELECT 1 AS one"))
        .unwrap();
    assert_eq!(multi.len(), 2);
    assert_eq!(multi[0].rows[0][0].as_deref(), Some("2"));

    let e = c
        .simple_query("SELECT * FROM no_such_table_xyz")
        .unwrap_err();
    assert_eq!(e.sqlstate(), Some("42P01"), "{e}");
    assert!(e.to_string().contains("no_such_table_xyz"), "{e}");
    let e = c
        .execute(&format!("INSERT INTO {t} (id) VALUES (1)"), &[])
        .unwrap_err();
    assert_eq!(e.sqlstate(), Some("23505"), "{e}");
    assert!(e.is_data_error());
    // The connection is still usable after errors.
    assert_eq!(
        c.query("SELECT 41 + $1::int", &[Some("1")]).unwrap().rows[0][0].as_deref(),
        Some("42")
    );
    c.simple_query(&format!("DROP TABLE {t}")).unwrap();
}

#[test]
fn pg_unreachable_server_is_a_clear_io_error() {
    let p = ConnectParams::from_jdbc_url("jdbc:postgresql://127.0.0.1:1/test", None, None).unwrap();
    let e = PgConnection::connect(&p)
        .err()
        .expect("port 1 has no server");
    let msg = e.to_string();
    assert!(
        msg.contains("cannot connect to PostgreSQL at 127.0.0.1:1"),
        "{msg}"
    );
    assert!(e.is_transient());
}

#[test]
fn pg_missing_database_reports_sqlstate() {
    let p = ConnectParams::from_jdbc_url(
        "jdbc:postgresql://127.0.0.1:5432/no_such_db_xyz",
        Some("postgres"),
        None,
    )
    .unwrap();
    let e = PgConnection::connect(&p)
        .err()
        .expect("database does not exist");
    assert_eq!(e.sqlstate(), Some("3D000"), "{e}");
}

#[test]
fn mariadb_queries_types_and_errors() {
    let mut c =
        my("root", None).unwrap_or_else(|e| panic!("MariaDB must run on 127.0.0.1:3306: {e}"));
    let t = unique("wire_my");
    c.query(&format!(
        "CREATE TABLE {t} (id int AUTO_INCREMENT PRIMARY KEY, name varchar(50), amount decimal(10,2), b blob, at datetime(3))"
    ))
    .unwrap();
    let r = c
        .query(&format!(
            "INSERT INTO {t} (name, amount, b, at) VALUES ({}, 12.5, {}, '2024-01-02 03:04:05.123'), (NULL, NULL, NULL, NULL)",
            sql_wire::mysql::quote_string("it's ü"),
            sql_wire::mysql::quote_bytes(&[0, 255])
        ))
        .unwrap();
    assert_eq!(r.affected_rows, 2);
    let r = c
        .query(&format!(
            "SELECT id, name, amount, b, at FROM {t} ORDER BY id"
        ))
        .unwrap();
    assert_eq!(r.rows.len(), 2);
    assert_eq!(r.rows[0][1].as_deref(), Some("it's ü".as_bytes()));
    assert_eq!(r.rows[0][2].as_deref(), Some(&b"12.50"[..]));
    assert_eq!(r.rows[0][3].as_deref(), Some(&[0u8, 255][..]));
    assert_eq!(
        r.rows[0][4].as_deref(),
        Some(&b"2024-01-02 03:04:05.123"[..])
    );
    assert!(r.columns[3].is_binary());
    assert_eq!(r.columns[2].decimals, 2);
    assert_eq!(r.rows[1][1], None);

    let e = c.query("SELECT * FROM no_such_table_xyz").unwrap_err();
    assert_eq!(e.sqlstate(), Some("42S02"), "{e}");
    let e = c
        .query(&format!("INSERT INTO {t} (id) VALUES (1)"))
        .unwrap_err();
    assert_eq!(e.sqlstate(), Some("23000"), "{e}");
    assert!(e.is_data_error());
    c.query(&format!("DROP TABLE {t}")).unwrap();
}

#[test]
fn mariadb_password_login_and_wrong_password() {
    let mut root = my("root", None).unwrap();
    let user = unique("wire_user");
    root.query(&format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY 'right-pw'"
    ))
    .unwrap();
    root.query(&format!("GRANT SELECT ON test.* TO '{user}'@'%'"))
        .unwrap();
    let mut c = my(&user, Some("right-pw")).unwrap();
    assert_eq!(
        c.query("SELECT 1").unwrap().rows[0][0].as_deref(),
        Some(&b"1"[..])
    );
    let e = my(&user, Some("wrong-pw"))
        .err()
        .expect("wrong password must fail");
    let msg = e.to_string();
    assert_eq!(e.sqlstate(), Some("28000"), "{msg}");
    assert!(!msg.contains("wrong-pw"), "{msg}");
    root.query(&format!("DROP USER '{user}'@'%'")).unwrap();
}

/// Password logins: `cargo xtask test` makes PostgreSQL ask members of `sluice_password_auth`
/// for a password (md5 method: SCRAM for SCRAM-stored passwords, MD5 for MD5-stored ones).
fn pg_password_user(encryption: &str) -> String {
    let mut c = pg();
    let user = unique(&format!("wire_{}", encryption.replace('-', "_")));
    c.simple_query(&format!(
        "SET password_encryption = '{encryption}'; CREATE ROLE {user} LOGIN PASSWORD 'right-pw' IN ROLE sluice_password_auth"
    ))
    .unwrap_or_else(|e| panic!("creating a password user (run `cargo xtask test` once to prepare PostgreSQL): {e}"));
    user
}

fn pg_login(user: &str, password: Option<&str>) -> Result<PgConnection, Error> {
    let p = ConnectParams::from_jdbc_url(
        "jdbc:postgresql://127.0.0.1:5432/test",
        Some(user),
        password,
    )
    .unwrap();
    PgConnection::connect(&p)
}

#[test]
fn pg_scram_and_md5_logins_and_wrong_password() {
    for encryption in ["scram-sha-256", "md5"] {
        let user = pg_password_user(encryption);
        let mut c =
            pg_login(&user, Some("right-pw")).unwrap_or_else(|e| panic!("{encryption}: {e}"));
        assert_eq!(
            c.simple_query("SELECT current_user").unwrap()[0].rows[0][0].as_deref(),
            Some(user.as_str())
        );
        let e = pg_login(&user, Some("wrong-pw"))
            .err()
            .expect("wrong password must fail");
        assert_eq!(e.sqlstate(), Some("28P01"), "{encryption}: {e}");
        assert!(!e.to_string().contains("wrong-pw"));
        let e = pg_login(&user, None).err().expect("no password must fail");
        assert!(e.to_string().contains("none is configured"), "{e}");
        pg().simple_query(&format!("DROP ROLE {user}")).unwrap();
    }
}

/// A CA that signed nothing the test server holds (made once with `openssl req -x509`).
const UNRELATED_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBpTCCAUugAwIBAgIUblbhdtvmIl2Hkc3P/by0av76QyEwCgYIKoZIzj0EAwIw
JzElMCMGA1UEAwwcc2x1aWNlIHRlc3Q6IGFuIHVucmVsYXRlZCBDQTAgFw0yNjEy
MDcwOTI0MzVaGA8yMTI2MTExMzA5MjQzNVowJzElMCMGA1UEAwwcc2x1aWNlIHRl
c3Q6IGFuIHVucmVsYXRlZCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABGrm
zV8qE/greztlpJ5tCUcE7MP1+TX13WMi+j2KrDiaFPyo8kSDrXmSMM02vyGprp44
/xmmAwwtOUHMNk4MVE6jUzBRMB0GA1UdDgQWBBQS9dJbUbyIj8+RSsBLMWfF9iYi
4TAfBgNVHSMEGDAWgBQS9dJbUbyIj8+RSsBLMWfF9iYi4TAPBgNVHRMBAf8EBTAD
AQH/MAoGCCqGSM49BAMCA0gAMEUCIFQawm1lyxv0CjjdumSheZggK5t318JmCdQ0
iLQIhYm8AiEAvMC2333pPmnNI4SVcoVpBJubdoUwsWbVF02kH/CgVOA=
-----END CERTIFICATE-----
";

/// TLS against the local server, which `cargo xtask test` sets up with its own self-signed
/// certificate for 127.0.0.1 and localhost (`sluice-test-server.crt` in the data directory;
/// read here through the server, the test's only way to it).
#[test]
fn pg_tls_in_every_sslmode_and_a_certificate_from_an_unknown_ca_is_refused() {
    let server_cert = pg()
        .simple_query("SELECT pg_read_file('sluice-test-server.crt')")
        .unwrap()
        .remove(0)
        .rows
        .remove(0)
        .remove(0)
        .expect("the test certificate (cargo xtask test creates it)");
    let dir = std::env::temp_dir().join(unique("sql_wire_tls"));
    std::fs::create_dir_all(&dir).unwrap();
    let (trusted, unrelated) = (dir.join("server.crt"), dir.join("unrelated-ca.crt"));
    std::fs::write(&trusted, &server_cert).unwrap();
    std::fs::write(&unrelated, UNRELATED_CA).unwrap();
    let connect = |host: &str, query: &str| {
        let url = format!("jdbc:postgresql://{host}:5432/test?{query}");
        PgConnection::connect(&ConnectParams::from_jdbc_url(&url, None, None).unwrap())
    };
    let ssl_in_use = |c: &mut PgConnection| {
        c.simple_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .unwrap()[0]
            .rows[0][0]
            .clone()
    };
    let root = trusted.display();
    for (host, query, tls) in [
        ("127.0.0.1", "sslmode=disable".to_string(), false),
        // The default is pgjdbc's: prefer, so TLS with this server.
        ("127.0.0.1", String::new(), true),
        ("127.0.0.1", "sslmode=require".to_string(), true),
        (
            "127.0.0.1",
            format!("sslmode=verify-ca&sslrootcert={root}"),
            true,
        ),
        (
            "127.0.0.1",
            format!("sslmode=verify-full&sslrootcert={root}"),
            true,
        ),
        (
            "localhost",
            format!("sslmode=verify-full&sslrootcert={root}"),
            true,
        ),
    ] {
        let mut c = connect(host, &query).unwrap_or_else(|e| panic!("{host} {query}: {e}"));
        assert_eq!(c.is_tls(), tls, "{host} {query}");
        assert_eq!(
            ssl_in_use(&mut c).as_deref(),
            Some(if tls { "t" } else { "f" })
        );
        c.close();
    }
    // verify-full with a root that did not sign the server's certificate, and with Mozilla's
    // roots (which did not either): refused before the login, saying why.
    for query in [
        format!("sslmode=verify-full&sslrootcert={}", unrelated.display()),
        format!("sslmode=verify-ca&sslrootcert={}", unrelated.display()),
        "sslmode=verify-full".to_string(),
    ] {
        let e = connect("127.0.0.1", &query)
            .err()
            .expect(&query)
            .to_string();
        assert!(
            e.contains("the server's certificate is not trusted with sslmode=verify-")
                && e.contains("not signed by a trusted root certificate"),
            "{query}: {e}"
        );
        assert!(matches!(connect("127.0.0.1", &query), Err(Error::Tls(_))));
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// `socketTimeout` (pgjdbc: seconds; MariaDB: milliseconds): a statement that runs longer
/// ends the connection with an error naming the setting, on both servers.
#[test]
fn socket_timeout_gives_up_a_statement_that_runs_too_long() {
    let url = "jdbc:postgresql://127.0.0.1:5432/test?socketTimeout=1";
    let mut c =
        PgConnection::connect(&ConnectParams::from_jdbc_url(url, None, None).unwrap()).unwrap();
    assert_eq!(c.simple_query("SELECT 1").unwrap()[0].rows.len(), 1);
    let e = c
        .simple_query("SELECT pg_sleep(5)")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("PostgreSQL at 127.0.0.1:5432 did not answer within 1 s (the URL's socketTimeout sets the limit)"),
        "{e}"
    );
    assert!(c.is_broken());

    let url = "jdbc:mariadb://127.0.0.1:3306/test?socketTimeout=1000";
    let mut c =
        MyConnection::connect(&ConnectParams::from_jdbc_url(url, None, None).unwrap()).unwrap();
    let e = c.query("SELECT SLEEP(5)").unwrap_err().to_string();
    assert!(
        e.contains("MySQL/MariaDB at 127.0.0.1:3306 did not answer within 1 s (the URL's socketTimeout sets the limit)"),
        "{e}"
    );
    assert!(c.is_broken());
}
