//! `CrowdfundingStore`: campaigns, and the orders placed into each. The
//! order rows are written by the placement (`placement.rs`) through
//! [`record_order`], inside its transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_core::crowdfunding::{
    Crowdfunding, CrowdfundingRefusal, CrowdfundingStatus, CrowdfundingStore, FinishCrowdfunding,
};
use shop_core::events::EventRecord;
use shop_core::ids::{CrowdfundingId, OrderId, ProductId};
use shop_core::order::Order;
use shop_core::page::Page;
use shop_core::{Entity, Error, Money, Result};

use crate::dialect::Conn;
use crate::error::{conflict, corrupt, retry_rolled_back, Violation};
use crate::orders::load_orders;
use crate::rows::Cols;
use crate::sql::Sql;
use crate::{commit_with, Dialect, SqlStore};

const COLS: &str = "id, product_id, target, currency, ends_at, status, total, buyers, \
    created_at, finished_at";

fn campaign_from(r: &impl Cols) -> Result<Crowdfunding> {
    let status = r.text("status")?;
    Ok(Crowdfunding {
        id: CrowdfundingId(r.int("id")?),
        product_id: ProductId(r.int("product_id")?),
        target: r.money("target")?,
        ends_at: r.time("ends_at")?,
        status: CrowdfundingStatus::parse(&status)
            .ok_or_else(|| corrupt("crowdfunding status", &status))?,
        total: r.money("total")?,
        buyers: r.count("buyers")?,
        created_at: r.time("created_at")?,
        finished_at: r.opt_time("finished_at")?,
    })
}

/// Records `order` as placed into `campaign`, once the campaign is checked
/// funding with its end after the order's creation — a conditional update
/// of the campaign's row, which the decision's compare-and-set serializes
/// with (`Crowdfunding(Closed)` otherwise).
pub(crate) async fn record_order<D: Dialect>(
    c: &mut Conn<D>,
    campaign: CrowdfundingId,
    order: &Order,
) -> Result<()> {
    let open = Sql::new(
        "UPDATE shop_crowdfundings SET placed = placed + 1 \
         WHERE id = ? AND status = ? AND ends_at > ?",
    )
    .bind(campaign.0)
    .bind(CrowdfundingStatus::Funding.as_str())
    .bind(order.created_at);
    if D::execute(c, &open).await? == 0 {
        return Err(Error::Crowdfunding(CrowdfundingRefusal::Closed));
    }
    let amount = order
        .total
        .minor_units()
        .ok_or_else(|| Error::validation("total", "too large"))?;
    let insert = Sql::new(
        "INSERT INTO shop_crowdfunding_orders (crowdfunding_id, order_id, user_id, amount_minor) \
         VALUES (?, ?, ?, ?)",
    )
    .bind(campaign.0)
    .bind(order.id.0)
    .bind(order.user_id.0)
    .bind(amount);
    D::execute(c, &insert).await.map(|_| ())
}

/// The campaign's paid orders (a payment recorded): their total in minor
/// units and their distinct buyers.
async fn paid_sums<D: Dialect>(c: &mut Conn<D>, id: CrowdfundingId) -> Result<(i64, u32)> {
    let sums = Sql::new(
        "SELECT COALESCE(SUM(co.amount_minor), 0) AS total, COUNT(DISTINCT co.user_id) AS buyers \
         FROM shop_crowdfunding_orders co JOIN shop_orders o ON o.id = co.order_id \
         WHERE co.crowdfunding_id = ? AND o.paid_at IS NOT NULL",
    )
    .bind(id.0);
    let row = D::fetch_optional(c, &sums)
        .await?
        .ok_or_else(|| Error::not_found(Entity::Crowdfunding, id))?;
    Ok((row.int("total")?, row.count("buyers")?))
}

/// The campaign, locked for the rest of the transaction.
async fn lock_campaign<D: Dialect>(c: &mut Conn<D>, id: CrowdfundingId) -> Result<Crowdfunding> {
    let read = Sql::new(format!(
        "SELECT {COLS} FROM shop_crowdfundings WHERE id = ?{}",
        D::FOR_UPDATE
    ))
    .bind(id.0);
    let row = D::fetch_optional(c, &read)
        .await?
        .ok_or_else(|| Error::not_found(Entity::Crowdfunding, id))?;
    campaign_from(&row)
}

/// `campaign` with its total and buyers recomputed (not written).
async fn recount<D: Dialect>(c: &mut Conn<D>, mut campaign: Crowdfunding) -> Result<Crowdfunding> {
    let (total, buyers) = paid_sums::<D>(c, campaign.id).await?;
    campaign.total = Money::from_minor_units(total, campaign.target.currency());
    campaign.buyers = buyers;
    Ok(campaign)
}

async fn store_counts<D: Dialect>(c: &mut Conn<D>, campaign: &Crowdfunding) -> Result<()> {
    let write = Sql::new("UPDATE shop_crowdfundings SET total = ?, buyers = ? WHERE id = ?")
        .bind(campaign.total)
        .bind(campaign.buyers)
        .bind(campaign.id.0);
    D::execute(c, &write).await.map(|_| ())
}

impl<D: Dialect> SqlStore<D> {
    async fn create_crowdfunding_tx(
        &self,
        campaign: &Crowdfunding,
        events: &[EventRecord],
    ) -> Result<()> {
        let mut tx = self.write().await?;
        let insert = Sql::new(format!(
            "INSERT INTO shop_crowdfundings ({COLS}, placed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)"
        ))
        .bind(campaign.id.0)
        .bind(campaign.product_id.0)
        .bind(campaign.target)
        .bind(campaign.target.currency().code())
        .bind(campaign.ends_at)
        .bind(campaign.status.as_str())
        .bind(campaign.total)
        .bind(campaign.buyers)
        .bind(campaign.created_at)
        .bind(campaign.finished_at);
        D::execute(&mut tx, &insert).await.map_err(|e| {
            e.or_exists(Entity::Crowdfunding, campaign.product_id)
                .or_missing(Error::not_found(Entity::Product, campaign.product_id))
        })?;
        commit_with::<D>(tx, events).await
    }

    async fn refresh_crowdfunding_tx(&self, id: CrowdfundingId) -> Result<Crowdfunding> {
        let mut tx = self.write().await?;
        let campaign = lock_campaign::<D>(&mut tx, id).await?;
        let campaign = recount::<D>(&mut tx, campaign).await?;
        store_counts::<D>(&mut tx, &campaign).await?;
        commit_with::<D>(tx, &[]).await?;
        Ok(campaign)
    }

    async fn finish_crowdfunding_tx(
        &self,
        cmd: &FinishCrowdfunding,
        events: &[EventRecord],
    ) -> Result<Crowdfunding> {
        let mut tx = self.write().await?;
        let campaign = lock_campaign::<D>(&mut tx, cmd.id).await?;
        if campaign.status != CrowdfundingStatus::Funding {
            return Err(conflict(Entity::Crowdfunding, cmd.id));
        }
        if cmd.at < campaign.ends_at {
            return Err(Error::refused("ends_at", "the campaign has not ended"));
        }
        let mut campaign = recount::<D>(&mut tx, campaign).await?;
        if campaign.total != cmd.total || campaign.buyers != cmd.buyers {
            return Err(conflict(Entity::Crowdfunding, cmd.id));
        }
        let decide = Sql::new(
            "UPDATE shop_crowdfundings SET status = ?, total = ?, buyers = ?, finished_at = ? \
             WHERE id = ? AND status = ?",
        )
        .bind(cmd.status.as_str())
        .bind(campaign.total)
        .bind(campaign.buyers)
        .bind(cmd.at)
        .bind(cmd.id.0)
        .bind(CrowdfundingStatus::Funding.as_str());
        if D::execute(&mut tx, &decide).await? == 0 {
            return Err(conflict(Entity::Crowdfunding, cmd.id));
        }
        commit_with::<D>(tx, events).await?;
        campaign.status = cmd.status;
        campaign.finished_at = Some(cmd.at);
        Ok(campaign)
    }
}

#[async_trait]
impl<D: Dialect> CrowdfundingStore for SqlStore<D> {
    async fn create_crowdfunding(
        &self,
        campaign: &Crowdfunding,
        events: &[EventRecord],
    ) -> Result<()> {
        retry_rolled_back(|| self.create_crowdfunding_tx(campaign, events)).await
    }

    async fn get_crowdfunding(&self, id: CrowdfundingId) -> Result<Option<Crowdfunding>> {
        let sql = Sql::new(format!(
            "SELECT {COLS} FROM shop_crowdfundings WHERE id = ?"
        ))
        .bind(id.0);
        self.one(sql, campaign_from).await
    }

    async fn crowdfunding_of_product(&self, product: ProductId) -> Result<Option<Crowdfunding>> {
        let sql = Sql::new(format!(
            "SELECT {COLS} FROM shop_crowdfundings WHERE product_id = ?"
        ))
        .bind(product.0);
        self.one(sql, campaign_from).await
    }

    async fn list_crowdfundings(
        &self,
        status: Option<CrowdfundingStatus>,
        page: u32,
        per_page: u32,
    ) -> Result<Page<Crowdfunding>> {
        let filter = if status.is_some() {
            " WHERE status = ?"
        } else {
            ""
        };
        let mut count = Sql::new(format!(
            "SELECT COUNT(*) AS n FROM shop_crowdfundings{filter}"
        ));
        let mut list = Sql::new(format!(
            "SELECT {COLS} FROM shop_crowdfundings{filter} \
             ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"
        ));
        if let Some(status) = status {
            count = count.bind(status.as_str());
            list = list.bind(status.as_str());
        }
        let offset = i64::from(page.max(1) - 1) * i64::from(per_page);
        let list = list.bind(i64::from(per_page)).bind(offset);
        let total = self.one(count, |r| r.int("n")).await?.unwrap_or_default();
        let items = self.all(list, campaign_from).await?;
        Ok(Page::new(items, u64::try_from(total).unwrap_or_default()))
    }

    async fn refresh_crowdfunding(&self, id: CrowdfundingId) -> Result<Crowdfunding> {
        retry_rolled_back(|| self.refresh_crowdfunding_tx(id)).await
    }

    async fn finish_crowdfunding(
        &self,
        cmd: &FinishCrowdfunding,
        events: &[EventRecord],
    ) -> Result<Crowdfunding> {
        retry_rolled_back(|| self.finish_crowdfunding_tx(cmd, events)).await
    }

    async fn list_due_crowdfundings(
        &self,
        now: DateTime<Utc>,
        failed_since: DateTime<Utc>,
        after: Option<CrowdfundingId>,
        limit: u32,
    ) -> Result<Vec<Crowdfunding>> {
        let sql = Sql::new(format!(
            "SELECT {COLS} FROM shop_crowdfundings \
             WHERE id > ? AND ((status = ? AND ends_at <= ?) OR (status = ? AND ends_at > ?)) \
             ORDER BY id LIMIT ?"
        ))
        .bind(after.map_or(i64::MIN, |a| a.0))
        .bind(CrowdfundingStatus::Funding.as_str())
        .bind(now)
        .bind(CrowdfundingStatus::Fail.as_str())
        .bind(failed_since)
        .bind(i64::from(limit));
        self.all(sql, campaign_from).await
    }

    async fn list_crowdfunding_orders(
        &self,
        id: CrowdfundingId,
        after: Option<OrderId>,
        limit: u32,
    ) -> Result<Vec<Order>> {
        let ids = Sql::new(
            "SELECT order_id FROM shop_crowdfunding_orders \
             WHERE crowdfunding_id = ? AND order_id > ? ORDER BY order_id LIMIT ?",
        )
        .bind(id.0)
        .bind(after.map_or(i64::MIN, |a| a.0))
        .bind(i64::from(limit));
        let ids: Vec<OrderId> = self.all(ids, |r| r.int("order_id").map(OrderId)).await?;
        let mut conn = self.conn().await?;
        load_orders::<D>(&mut conn, &ids).await
    }
}
