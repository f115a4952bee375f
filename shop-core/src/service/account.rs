//! Use cases: a user's shipping addresses (owner-only).

use super::Shop;
use crate::error::{Entity, Error, Result};
use crate::ids::{AddressId, UserId};
use crate::user::{Address, AddressDraft};

/// Most addresses one user may keep.
pub const MAX_ADDRESSES: usize = 20;

impl Shop {
    /// Adds an address for `user`.
    pub async fn create_address(&self, user: UserId, draft: AddressDraft) -> Result<Address> {
        draft.validate()?;
        if self.inner.stores.users.list_addresses(user).await?.len() >= MAX_ADDRESSES {
            return Err(Error::refused(
                "address",
                format!("at most {MAX_ADDRESSES} addresses per user"),
            ));
        }
        let address = Address {
            id: AddressId(self.next_id()),
            user_id: user,
            fields: draft,
            last_used_at: None,
        };
        self.inner.stores.users.create_address(&address).await?;
        Ok(address)
    }

    /// Loads one of `user`'s addresses: `NotFound` when unknown, `Forbidden`
    /// when it is somebody else's.
    pub async fn address(&self, user: UserId, id: AddressId) -> Result<Address> {
        let address = self
            .inner
            .stores
            .users
            .get_address(id)
            .await?
            .ok_or_else(|| Error::not_found(Entity::Address, id))?;
        address.ensure_owner(user)?;
        Ok(address)
    }

    /// Changes one of `user`'s addresses.
    pub async fn update_address(
        &self,
        user: UserId,
        id: AddressId,
        draft: AddressDraft,
    ) -> Result<Address> {
        draft.validate()?;
        let mut address = self.address(user, id).await?;
        address.fields = draft;
        self.inner.stores.users.update_address(&address).await?;
        Ok(address)
    }

    /// Deletes one of `user`'s addresses. Orders keep their own snapshot.
    pub async fn delete_address(&self, user: UserId, id: AddressId) -> Result<()> {
        self.address(user, id).await?;
        self.inner.stores.users.delete_address(id).await
    }

    /// `user`'s addresses, most recently used first.
    pub async fn addresses(&self, user: UserId) -> Result<Vec<Address>> {
        self.inner.stores.users.list_addresses(user).await
    }
}
