//! [`CrowdfundingStore`] for [`MemoryStore`]. The campaign's order records
//! are written by the placement (`orders.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{already_exists, conflict, page_of, MemoryStore, State};
use crate::crowdfunding::{
    Crowdfunding, CrowdfundingStatus, CrowdfundingStore, FinishCrowdfunding,
};
use crate::error::{Entity, Error, Result};
use crate::events::EventRecord;
use crate::ids::{CrowdfundingId, OrderId, ProductId};
use crate::money::Money;
use crate::order::Order;
use crate::page::Page;

impl State {
    /// The campaign with its total and buyers recomputed from its paid
    /// orders.
    fn recount_crowdfunding(&self, id: CrowdfundingId) -> Result<Crowdfunding> {
        let mut campaign = self
            .crowdfundings
            .get(&id)
            .cloned()
            .ok_or_else(|| Error::not_found(Entity::Crowdfunding, id))?;
        let paid: Vec<&Order> = self
            .crowdfunding_orders
            .range((id, OrderId(i64::MIN))..=(id, OrderId(i64::MAX)))
            .filter_map(|(_, order)| self.orders.get(order))
            .filter(|o| o.payment.is_some())
            .collect();
        campaign.total = Money::sum(campaign.target.currency(), paid.iter().map(|o| o.total))?;
        let mut buyers: Vec<_> = paid.iter().map(|o| o.user_id).collect();
        buyers.sort_unstable();
        buyers.dedup();
        campaign.buyers = buyers.len() as u32;
        Ok(campaign)
    }
}

#[async_trait]
impl CrowdfundingStore for MemoryStore {
    async fn create_crowdfunding(
        &self,
        campaign: &Crowdfunding,
        events: &[EventRecord],
    ) -> Result<()> {
        self.write(events, |s| {
            if s.crowdfundings.contains_key(&campaign.id)
                || s.crowdfundings
                    .values()
                    .any(|c| c.product_id == campaign.product_id)
            {
                return Err(already_exists(Entity::Crowdfunding, campaign.product_id));
            }
            if !s.products.contains_key(&campaign.product_id) {
                return Err(Error::not_found(Entity::Product, campaign.product_id));
            }
            s.crowdfundings.insert(campaign.id, campaign.clone());
            Ok(())
        })
    }

    async fn get_crowdfunding(&self, id: CrowdfundingId) -> Result<Option<Crowdfunding>> {
        Ok(self.state().crowdfundings.get(&id).cloned())
    }

    async fn crowdfunding_of_product(&self, product: ProductId) -> Result<Option<Crowdfunding>> {
        Ok(self
            .state()
            .crowdfundings
            .values()
            .find(|c| c.product_id == product)
            .cloned())
    }

    async fn list_crowdfundings(
        &self,
        status: Option<CrowdfundingStatus>,
        page: u32,
        per_page: u32,
    ) -> Result<Page<Crowdfunding>> {
        let state = self.state();
        let mut all: Vec<Crowdfunding> = state
            .crowdfundings
            .values()
            .filter(|c| status.is_none_or(|s| c.status == s))
            .cloned()
            .collect();
        all.sort_by_key(|c| std::cmp::Reverse((c.created_at, c.id)));
        let total = all.len() as u64;
        Ok(Page::new(page_of(all, page, per_page), total))
    }

    async fn refresh_crowdfunding(&self, id: CrowdfundingId) -> Result<Crowdfunding> {
        let mut state = self.state();
        let campaign = state.recount_crowdfunding(id)?;
        state.crowdfundings.insert(id, campaign.clone());
        Ok(campaign)
    }

    async fn finish_crowdfunding(
        &self,
        cmd: &FinishCrowdfunding,
        events: &[EventRecord],
    ) -> Result<Crowdfunding> {
        self.write(events, |s| {
            let mut campaign = s.recount_crowdfunding(cmd.id)?;
            if campaign.status != CrowdfundingStatus::Funding {
                return Err(conflict(Entity::Crowdfunding, cmd.id));
            }
            if cmd.at < campaign.ends_at {
                return Err(Error::refused("ends_at", "the campaign has not ended"));
            }
            if campaign.total != cmd.total || campaign.buyers != cmd.buyers {
                return Err(conflict(Entity::Crowdfunding, cmd.id));
            }
            campaign.status = cmd.status;
            campaign.finished_at = Some(cmd.at);
            s.crowdfundings.insert(cmd.id, campaign.clone());
            Ok(campaign)
        })
    }

    async fn list_due_crowdfundings(
        &self,
        now: DateTime<Utc>,
        failed_since: DateTime<Utc>,
        after: Option<CrowdfundingId>,
        limit: u32,
    ) -> Result<Vec<Crowdfunding>> {
        Ok(self
            .state()
            .crowdfundings
            .values()
            .filter(|c| after.is_none_or(|a| c.id > a))
            .filter(|c| match c.status {
                CrowdfundingStatus::Funding => c.ends_at <= now,
                CrowdfundingStatus::Fail => c.ends_at > failed_since,
                CrowdfundingStatus::Success => false,
            })
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn list_crowdfunding_orders(
        &self,
        id: CrowdfundingId,
        after: Option<OrderId>,
        limit: u32,
    ) -> Result<Vec<Order>> {
        let state = self.state();
        let from = after.map_or(OrderId(i64::MIN), |a| OrderId(a.0.saturating_add(1)));
        Ok(state
            .crowdfunding_orders
            .range((id, from)..=(id, OrderId(i64::MAX)))
            .filter_map(|(_, order)| state.orders.get(order).cloned())
            .take(limit as usize)
            .collect())
    }
}
