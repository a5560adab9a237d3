//! Record generation: record `i` is a pure function of `(seed, i)`, so any record can be
//! regenerated to check a topic for losses and duplicates, and a restarted task continues
//! the same sequence.

use sluice_plugin_sdk::{Schema, SchemaRef, Struct, Value};

/// 2024-01-01T00:00:00Z: record `i` happened `i` seconds after this.
pub const BASE_MILLIS: i64 = 1_704_067_200_000;

/// Which data set to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quickstart {
    Users,
    Orders,
}

/// splitmix64: tiny, fast, and good enough for demo data.
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// The generator for record `i` under `seed`: independent per record, so no state has to
    /// be replayed to jump to any `i`.
    pub fn for_record(seed: u64, i: u64) -> SplitMix64 {
        let mut base = SplitMix64(seed ^ 0x5851_F42D_4C95_7F2D);
        let start = base.next_u64();
        SplitMix64(start.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform-enough in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const FIRST: &[&str] = &[
    "Ada",
    "Alan",
    "Barbara",
    "Claude",
    "Edsger",
    "Frances",
    "Grace",
    "John",
    "Katherine",
    "Ken",
    "Leslie",
    "Linus",
    "Margaret",
    "Niklaus",
    "Radia",
    "Tim",
];
const LAST: &[&str] = &[
    "Lovelace",
    "Turing",
    "Liskov",
    "Shannon",
    "Dijkstra",
    "Allen",
    "Hopper",
    "Backus",
    "Johnson",
    "Thompson",
    "Lamport",
    "Torvalds",
    "Hamilton",
    "Wirth",
    "Perlman",
    "Berners-Lee",
];
const REGIONS: &[&str] = &[
    "us-east",
    "us-west",
    "eu-central",
    "eu-west",
    "ap-south",
    "ap-northeast",
];
const ITEMS: &[&str] = &[
    "keyboard",
    "mouse",
    "monitor",
    "laptop stand",
    "usb-c cable",
    "headphones",
    "webcam",
    "desk lamp",
    "notebook",
    "coffee mug",
];
/// Users are drawn from this many ids, so keys repeat like a real changelog.
const USERS: u64 = 1000;

/// The schemas of one quickstart, built once and shared by every record.
pub struct Generator {
    pub quickstart: Quickstart,
    pub seed: u64,
    pub key_schema: SchemaRef,
    pub value_schema: SchemaRef,
}

/// One generated record.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    pub key: String,
    pub value: Value,
    pub timestamp: i64,
}

impl Generator {
    pub fn new(quickstart: Quickstart, seed: u64) -> Generator {
        let value_schema = match quickstart {
            Quickstart::Users => Schema::struct_builder()
                .name("io.sluice.datagen.User")
                .field("seq", Schema::int64())
                .field("user_id", Schema::string())
                .field("name", Schema::string())
                .field("email", Schema::string())
                .field("region", Schema::string())
                .field("registered_at", Schema::timestamp())
                .build_ref(),
            Quickstart::Orders => Schema::struct_builder()
                .name("io.sluice.datagen.Order")
                .field("seq", Schema::int64())
                .field("order_id", Schema::string())
                .field("user_id", Schema::string())
                .field("item", Schema::string())
                .field("quantity", Schema::int32())
                .field("price", Schema::decimal(2))
                .field("ordered_at", Schema::timestamp())
                .build_ref(),
        };
        Generator {
            quickstart,
            seed,
            key_schema: Schema::string().into_ref(),
            value_schema,
        }
    }

    /// Record `i`.
    pub fn record(&self, i: u64) -> Generated {
        let mut rng = SplitMix64::for_record(self.seed, i);
        let timestamp = BASE_MILLIS.wrapping_add((i as i64).wrapping_mul(1000));
        let seq = i as i64;
        let (key, values) = match self.quickstart {
            Quickstart::Users => {
                let n = rng.below(USERS);
                let first = rng.pick(FIRST);
                let last = rng.pick(LAST);
                let user_id = format!("user_{n}");
                let email = format!(
                    "{}.{}{n}@example.com",
                    first.to_lowercase(),
                    last.to_lowercase()
                );
                let region = rng.pick(REGIONS);
                let values = vec![
                    Value::Int64(seq),
                    Value::String(user_id.clone()),
                    Value::String(format!("{first} {last}")),
                    Value::String(email),
                    Value::from(region),
                    Value::Int64(timestamp),
                ];
                (user_id, values)
            }
            Quickstart::Orders => {
                let order_id = format!("order_{i}");
                let user = rng.below(USERS);
                let item = rng.pick(ITEMS);
                let quantity = 1 + rng.below(5) as i32;
                let cents = 99 + rng.below(99_900) as i128;
                let values = vec![
                    Value::Int64(seq),
                    Value::String(order_id.clone()),
                    Value::String(format!("user_{user}")),
                    Value::from(item),
                    Value::Int32(quantity),
                    Value::decimal(cents),
                    Value::Int64(timestamp),
                ];
                (order_id, values)
            }
        };
        let value = match Struct::from_values(self.value_schema.clone(), values) {
            Ok(s) => Value::Struct(s),
            // The field lists above and the schemas in `new` are written together.
            Err(e) => unreachable!("datagen schema and values disagree: {e}"),
        };
        Generated {
            key,
            value,
            timestamp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_a_pure_function_of_seed_and_index() {
        let a = Generator::new(Quickstart::Orders, 7);
        let b = Generator::new(Quickstart::Orders, 7);
        // Same (seed, i) gives the same record, in any order of generation.
        let forward: Vec<Generated> = (0..50).map(|i| a.record(i)).collect();
        let backward: Vec<Generated> = (0..50).rev().map(|i| b.record(i)).collect();
        assert_eq!(forward, backward.into_iter().rev().collect::<Vec<_>>());
        // A different seed changes the data but not seq, key or timestamp.
        let other = Generator::new(Quickstart::Orders, 8).record(3);
        assert_ne!(other.value, forward[3].value);
        assert_eq!(other.key, "order_3");
        assert_eq!(other.timestamp, BASE_MILLIS + 3000);
    }

    #[test]
    fn user_records_have_the_documented_shape() {
        let g = Generator::new(Quickstart::Users, 0);
        let r = g.record(42);
        let s = r.value.as_struct().unwrap();
        assert_eq!(s.schema().name.as_deref(), Some("io.sluice.datagen.User"));
        assert_eq!(s.get("seq"), Some(&Value::Int64(42)));
        let user_id = s.get("user_id").unwrap().as_str().unwrap();
        assert_eq!(r.key, user_id);
        assert!(user_id.starts_with("user_"));
        let email = s.get("email").unwrap().as_str().unwrap();
        assert!(
            email.ends_with("@example.com") && email.contains(&user_id["user_".len()..]),
            "{email}"
        );
        assert_eq!(
            s.get("registered_at"),
            Some(&Value::Int64(BASE_MILLIS + 42_000))
        );
        assert!(s
            .schema()
            .field("registered_at")
            .unwrap()
            .1
            .schema
            .is_logical(sluice_plugin_sdk::logical::TIMESTAMP));
    }

    #[test]
    fn order_fields_stay_in_range() {
        let g = Generator::new(Quickstart::Orders, 123);
        for i in 0..500 {
            let r = g.record(i);
            let s = r.value.as_struct().unwrap();
            let Some(Value::Int32(q)) = s.get("quantity") else {
                panic!("quantity")
            };
            assert!((1..=5).contains(q));
            let Some(Value::Bytes(price)) = s.get("price") else {
                panic!("price")
            };
            assert!(!price.is_empty() && price.len() <= 3);
            assert_eq!(
                s.get("order_id").unwrap().as_str(),
                Some(format!("order_{i}").as_str())
            );
        }
    }
}
