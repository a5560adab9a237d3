//! The harness itself: the broker it starts really stores and serves records, so a failure in
//! the other tests points at Sluice, not at the test setup.

use std::time::Duration;

use sluice_tests::{unique, Broker};

#[test]
fn broker_round_trips_records_in_order() {
    let broker = Broker::shared();
    let topic = unique("harness");
    broker.create_topic(&topic, 1);
    let values: Vec<String> = (0..250).map(|i| format!("record {i} ✓ ünïcode")).collect();
    broker.produce(&topic, &values);
    let got = broker.consume_all(&topic, values.len(), Duration::from_secs(60));
    let got: Vec<&str> = got.iter().map(|m| m.value_str()).collect();
    assert_eq!(got, values.iter().map(String::as_str).collect::<Vec<_>>());
}

#[test]
fn paused_broker_serves_again_after_resume() {
    let broker = Broker::start();
    let topic = unique("harness-pause");
    broker.create_topic(&topic, 1);
    broker.produce(&topic, &["before"]);
    broker.pause();
    std::thread::sleep(Duration::from_secs(1));
    broker.resume();
    broker.produce(&topic, &["after"]);
    let got = broker.consume_all(&topic, 2, Duration::from_secs(60));
    let got: Vec<&str> = got.iter().map(|m| m.value_str()).collect();
    assert_eq!(got, ["before", "after"]);
}
