//! Typed ids, the [`IdGenerator`] port and order numbers.

use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use rand::RngExt;
use serde::{Deserialize, Serialize};

macro_rules! typed_id {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        ///
        /// In human-readable formats (JSON) it is a decimal string
        /// (`"382681031065784320"`), since 63-bit ids do not survive
        /// JavaScript's numbers, and an integer is accepted too; binary
        /// formats carry the plain `i64`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[1-9][0-9]{0,17}$", example = "382681031065784320"))]
        pub struct $name(pub i64);

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                if serializer.is_human_readable() {
                    serializer.collect_str(&self.0)
                } else {
                    serializer.serialize_i64(self.0)
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                if deserializer.is_human_readable() {
                    deserializer.deserialize_any(IdVisitor).map($name)
                } else {
                    deserializer.deserialize_i64(IdVisitor).map($name)
                }
            }
        }

        impl $name {
            /// The raw integer (as stored in a database column).
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl From<i64> for $name {
            fn from(raw: i64) -> Self {
                $name(raw)
            }
        }
    )*};
}

/// Reads an id from a decimal string or an integer.
struct IdVisitor;

impl serde::de::Visitor<'_> for IdVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an id: a decimal string or an integer")
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<i64, E> {
        let digits = v.strip_prefix('-').unwrap_or(v);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(E::invalid_value(serde::de::Unexpected::Str(v), &self));
        }
        v.parse()
            .map_err(|_| E::invalid_value(serde::de::Unexpected::Str(v), &self))
    }
}

typed_id! {
    /// Identifies a user (accounts live outside the core).
    UserId,
    /// Identifies a product.
    ProductId,
    /// Identifies a SKU.
    SkuId,
    /// Identifies a category.
    CategoryId,
    /// Identifies a shipping address.
    AddressId,
    /// Identifies an order.
    OrderId,
    /// Identifies one line of an order.
    OrderItemId,
    /// Identifies a coupon.
    CouponId,
    /// Identifies a review.
    ReviewId,
    /// Identifies a refund.
    RefundId,
    /// Identifies a flash sale.
    FlashSaleId,
    /// Identifies a crowdfunding campaign.
    CrowdfundingId,
    /// Identifies an installment plan.
    InstallmentPlanId,
}

/// Port: hands out unique, positive ids for new entities.
///
/// Ids are chosen by the core before a write, so every write command is
/// complete and backends never invent ids.
pub trait IdGenerator: Send + Sync + 'static {
    /// A new id, unique across every entity this generator serves.
    fn next_id(&self) -> i64;
}

/// Time-ordered 63-bit ids: 41 bits of milliseconds since 2024-01-01, 10 bits
/// of node, 12 bits of sequence.
///
/// Instances sharing one database must use distinct node numbers;
/// [`SnowflakeIds::random_node`] picks one at random, which is enough for a
/// handful of instances (a collision is reported by the store as
/// `AlreadyExists`, never silently merged).
#[derive(Debug)]
pub struct SnowflakeIds {
    node: i64,
    state: Mutex<(i64, i64)>,
}

const SNOWFLAKE_EPOCH_MS: i64 = 1_704_067_200_000;

impl SnowflakeIds {
    /// A generator for node `node` (0..1024).
    pub fn new(node: u16) -> Self {
        SnowflakeIds {
            node: i64::from(node & 0x3ff),
            state: Mutex::new((0, 0)),
        }
    }

    /// A generator with a random node number.
    pub fn random_node() -> Self {
        SnowflakeIds::new(rand::rng().random_range(0..1024))
    }
}

impl IdGenerator for SnowflakeIds {
    fn next_id(&self) -> i64 {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Utc::now().timestamp_millis() - SNOWFLAKE_EPOCH_MS;
        let (last_ms, seq) = *state;
        let (ms, seq) = if now > last_ms {
            (now, 0)
        } else if seq < 0xfff {
            (last_ms, seq + 1)
        } else {
            // Sequence exhausted in this millisecond: borrow the next one.
            (last_ms + 1, 0)
        };
        *state = (ms, seq);
        (ms << 22) | (self.node << 12) | seq
    }
}

/// Ids 1, 2, 3, … — deterministic, for tests and single-process use.
#[derive(Debug)]
pub struct SequentialIds(AtomicI64);

impl SequentialIds {
    /// Starts at `first`.
    pub fn starting_at(first: i64) -> Self {
        SequentialIds(AtomicI64::new(first))
    }
}

impl Default for SequentialIds {
    fn default() -> Self {
        SequentialIds::starting_at(1)
    }
}

impl IdGenerator for SequentialIds {
    fn next_id(&self) -> i64 {
        self.0.fetch_add(1, Ordering::Relaxed)
    }
}

/// Makes order numbers: `YYYYMMDDHHMMSS` (UTC) followed by six digits.
///
/// The six digits are a per-process counter offset by a random start, so
/// numbers are unique within a process and collide across processes only by
/// chance; the store's unique constraint reports a collision and the order
/// service retries with a fresh number. Numbers sort by creation second.
#[derive(Debug)]
pub struct OrderNoGenerator {
    counter: AtomicU64,
}

impl Default for OrderNoGenerator {
    fn default() -> Self {
        OrderNoGenerator {
            counter: AtomicU64::new(rand::rng().random_range(0..1_000_000)),
        }
    }
}

impl OrderNoGenerator {
    /// A new order number for an order created at `now`.
    pub fn next(&self, now: DateTime<Utc>) -> String {
        let seq = self.counter.fetch_add(1, Ordering::Relaxed) % 1_000_000;
        format!("{}{:06}", now.format("%Y%m%d%H%M%S"), seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_json_strings_and_read_from_strings_or_integers() {
        let id = OrderId(382_681_031_065_784_320);
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"382681031065784320\""
        );
        let back: OrderId = serde_json::from_str("\"382681031065784320\"").unwrap();
        assert_eq!(back, id);
        let back: OrderId = serde_json::from_str("382681031065784320").unwrap();
        assert_eq!(back, id);
        let negative: SkuId = serde_json::from_str("\"-5\"").unwrap();
        assert_eq!(negative, SkuId(-5));
        for bad in [
            "\"\"",
            "\"12a\"",
            "\" 12\"",
            "\"+12\"",
            "\"-\"",
            "1.5",
            "true",
            "null",
            "\"9223372036854775808\"",
            "9223372036854775808",
        ] {
            assert!(
                serde_json::from_str::<SkuId>(bad).is_err(),
                "{bad} was read"
            );
        }
    }

    #[test]
    fn snowflake_ids_are_unique_and_increasing() {
        let ids = SnowflakeIds::new(7);
        let mut last = 0;
        let mut seen = HashSet::new();
        for _ in 0..20_000 {
            let id = ids.next_id();
            assert!(id > last, "{id} after {last}");
            assert!(seen.insert(id));
            last = id;
        }
    }

    #[test]
    fn order_numbers_are_unique_and_time_sortable() {
        let gen = OrderNoGenerator::default();
        let t1 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let t2 = DateTime::from_timestamp(1_700_000_001, 0).unwrap();
        let a: HashSet<String> = (0..1000).map(|_| gen.next(t1)).collect();
        assert_eq!(a.len(), 1000);
        let later = gen.next(t2);
        assert!(a
            .iter()
            .all(|n| n.as_str() < later.as_str() && n.len() == 20));
    }
}
