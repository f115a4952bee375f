//! Shipping addresses (owner-only) and favorites, with their store port.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Entity, Error, Result};
use crate::ids::{AddressId, ProductId, UserId};
use crate::text::{check_line, required_line};

/// A JSON-Schema pattern of a phone number as [`AddressDraft::validate`]
/// takes it: digits, `+`, `-`, parentheses and spaces, not blank.
pub const PHONE_PATTERN: &str = r"^[0-9+\-() ]*[0-9+\-()][0-9+\-() ]*$";

/// Longest field of an address, in characters.
pub const MAX_ADDRESS_FIELD_CHARS: usize = 255;

/// The editable fields of a shipping address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddressDraft {
    /// Province / state.
    pub province: String,
    /// City.
    pub city: String,
    /// District.
    pub district: String,
    /// Street and number.
    pub street: String,
    /// Postal code.
    pub zip: String,
    /// Who receives the parcel.
    pub contact_name: String,
    /// Their phone number.
    pub contact_phone: String,
}

impl AddressDraft {
    /// Every field but `district` and `zip` is required; lengths are bounded.
    pub fn validate(&self) -> Result<()> {
        let required = [
            ("province", &self.province),
            ("city", &self.city),
            ("street", &self.street),
            ("contact_name", &self.contact_name),
            ("contact_phone", &self.contact_phone),
        ];
        for (field, value) in required {
            required_line(field, value, MAX_ADDRESS_FIELD_CHARS)?;
        }
        check_line("district", &self.district, MAX_ADDRESS_FIELD_CHARS)?;
        check_line("zip", &self.zip, MAX_ADDRESS_FIELD_CHARS)?;
        if !self
            .contact_phone
            .chars()
            .all(|c| c.is_ascii_digit() || "+- ()".contains(c))
        {
            return Err(Error::validation("contact_phone", "must be a phone number"));
        }
        Ok(())
    }
}

/// A user's stored shipping address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Address {
    /// Id.
    pub id: AddressId,
    /// Owner.
    pub user_id: UserId,
    /// The address fields.
    #[serde(flatten)]
    pub fields: AddressDraft,
    /// When an order last used it.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl Address {
    /// The owner-only rule: `Forbidden` unless `user` owns it.
    pub fn ensure_owner(&self, user: UserId) -> Result<()> {
        if self.user_id == user {
            Ok(())
        } else {
            Err(Error::Forbidden {
                entity: Entity::Address,
            })
        }
    }

    /// The one-line form: province, city, district, street.
    pub fn full_address(&self) -> String {
        let f = &self.fields;
        [&f.province, &f.city, &f.district, &f.street]
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The copy an order keeps, unaffected by later edits.
    pub fn snapshot(&self) -> AddressSnapshot {
        AddressSnapshot {
            address: self.full_address(),
            zip: self.fields.zip.clone(),
            contact_name: self.fields.contact_name.clone(),
            contact_phone: self.fields.contact_phone.clone(),
        }
    }
}

/// An address as copied into an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddressSnapshot {
    /// One-line address.
    pub address: String,
    /// Postal code.
    pub zip: String,
    /// Receiver.
    pub contact_name: String,
    /// Receiver's phone.
    pub contact_phone: String,
}

/// Port: addresses and favorites.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// Inserts an address.
    async fn create_address(&self, address: &Address) -> Result<()>;
    /// Overwrites an address (`NotFound` when absent).
    async fn update_address(&self, address: &Address) -> Result<()>;
    /// Deletes an address (`NotFound` when absent).
    async fn delete_address(&self, id: AddressId) -> Result<()>;
    /// Loads one address.
    async fn get_address(&self, id: AddressId) -> Result<Option<Address>>;
    /// A user's addresses, most recently used first, then newest first.
    async fn list_addresses(&self, user: UserId) -> Result<Vec<Address>>;

    /// Marks `product` a favorite of `user` (no-op when it already is).
    async fn add_favorite(&self, user: UserId, product: ProductId, at: DateTime<Utc>)
        -> Result<()>;
    /// Removes a favorite (no-op when absent).
    async fn remove_favorite(&self, user: UserId, product: ProductId) -> Result<()>;
    /// A user's favorites, most recently added first.
    async fn list_favorites(&self, user: UserId) -> Result<Vec<ProductId>>;
}

/// The most products a buyer's browsing history keeps.
pub const MAX_HISTORY: u32 = 100;

/// Port: each buyer's recently viewed products (Redis in
/// `shop-storage-redis`, or the SQL stores).
#[async_trait]
pub trait HistoryStore: Send + Sync + 'static {
    /// Records that `user` viewed `product` at `at` (a product viewed
    /// again moves to the front), then keeps only the newest `keep`
    /// (1..=[`MAX_HISTORY`]).
    async fn record_view(
        &self,
        user: UserId,
        product: ProductId,
        at: DateTime<Utc>,
        keep: u32,
    ) -> Result<()>;
    /// `user`'s viewed products, the latest view first (ties: highest
    /// product id first), at most `limit`.
    async fn recently_viewed(&self, user: UserId, limit: u32) -> Result<Vec<ProductId>>;
}
