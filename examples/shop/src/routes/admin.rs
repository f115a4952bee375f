//! The admin API (role `admin`, else 403): products, categories, orders,
//! shipping, refunds, coupons and users.

use std::str::FromStr;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use shop_core::account::Account;
use shop_core::catalog::{
    Category, Page, Product, ProductDraft, ProductKind, Property, Sku, SkuDraft,
};
use shop_core::coupon::{Coupon, CouponDraft, CouponKind};
use shop_core::ids::{CategoryId, CouponId, OrderId, ProductId};
use shop_core::order::{Order, OrderQuery, OrderStatus};
use shop_core::refund::Refund;
use shop_core::service::ProductDetail;
use shop_core::{Error, Money, Shop};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiResult;
use crate::extract::{AdminUser, AppJson, AppPath, AppQuery};
use crate::routes::orders::{PageQuery, ReasonBody};
use crate::state::AppState;

/// A product property.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PropertyBody {
    /// Name, e.g. `color`.
    pub name: String,
    /// Value, e.g. `white`.
    pub value: String,
}

/// A product's editable fields (`PUT /api/admin/products/{id}`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProductBody {
    /// `normal` (default), `crowdfunding` or `seckill`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub kind: Option<ProductKind>,
    /// Title.
    pub title: String,
    /// Long title.
    #[serde(default)]
    pub long_title: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Image URL.
    #[serde(default)]
    pub image: String,
    /// Whether it is for sale.
    pub on_sale: bool,
    /// Its category.
    #[serde(default)]
    pub category_id: Option<i64>,
    /// Properties (facets).
    #[serde(default)]
    pub properties: Vec<PropertyBody>,
}

impl From<ProductBody> for ProductDraft {
    fn from(b: ProductBody) -> Self {
        ProductDraft {
            kind: b.kind.unwrap_or(ProductKind::Normal),
            title: b.title,
            long_title: b.long_title,
            description: b.description,
            image: b.image,
            on_sale: b.on_sale,
            category_id: b.category_id.map(CategoryId),
            properties: b
                .properties
                .into_iter()
                .map(|p| Property {
                    name: p.name,
                    value: p.value,
                })
                .collect(),
        }
    }
}

/// A SKU of a new product.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SkuBody {
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Price in the shop's currency, e.g. `"19.90"`.
    pub price: String,
    /// Units in stock.
    pub stock: u32,
}

/// `POST /api/admin/products`: the product and at least one SKU.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateProductBody {
    /// The product's fields.
    #[serde(flatten)]
    pub product: ProductBody,
    /// Its SKUs.
    pub skus: Vec<SkuBody>,
}

/// `POST /api/admin/categories`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CategoryBody {
    /// Name.
    pub name: String,
    /// Whether it holds other categories.
    #[serde(default)]
    pub is_directory: bool,
    /// Its parent (a directory).
    #[serde(default)]
    pub parent_id: Option<i64>,
}

/// `POST /api/admin/orders/{id}/ship`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ShipBody {
    /// Carrier name.
    pub carrier: String,
    /// Tracking number.
    pub tracking_no: String,
}

/// A coupon's settings (`POST`/`PUT /api/admin/coupons…`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CouponBody {
    /// The code (4–32 uppercase letters and digits); random when absent.
    /// Ignored on update.
    #[serde(default)]
    pub code: Option<String>,
    /// Display name.
    pub name: String,
    /// `fixed` or `percent`.
    #[schema(value_type = String)]
    pub kind: CouponKind,
    /// Amount off (fixed) or percent off, e.g. `"10"`.
    pub value: String,
    /// The least order amount it applies to, e.g. `"50.00"`.
    pub min_amount: String,
    /// How many orders may use it.
    pub total: u32,
    /// Valid from (RFC 3339).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub not_before: Option<DateTime<Utc>>,
    /// Valid until (RFC 3339).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub not_after: Option<DateTime<Utc>>,
    /// Whether it may be used.
    pub enabled: bool,
}

impl CouponBody {
    fn draft(&self, shop: &Shop) -> Result<CouponDraft, Error> {
        let value = Decimal::from_str(self.value.trim())
            .map_err(|_| Error::validation("value", "must be a decimal number"))?;
        Ok(CouponDraft {
            name: self.name.clone(),
            kind: self.kind,
            value,
            min_amount: Money::parse(self.min_amount.trim(), shop.config().currency)?,
            total: self.total,
            not_before: self.not_before,
            not_after: self.not_after,
            enabled: self.enabled,
        })
    }
}

/// Query of `GET /api/admin/orders`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct AdminOrderQuery {
    /// Only orders in this status.
    #[param(value_type = Option<String>)]
    pub status: Option<OrderStatus>,
    /// Page, from 1.
    pub page: Option<u32>,
    /// Page size, 1–100.
    pub per_page: Option<u32>,
}

/// Creates a product with its SKUs.
#[utoipa::path(post, path = "/api/admin/products", request_body = CreateProductBody,
    responses((status = 201, description = "{product, skus, breadcrumbs}"), (status = 400), (status = 401), (status = 403)))]
pub async fn create_product(
    State(state): State<AppState>,
    _: AdminUser,
    AppJson(body): AppJson<CreateProductBody>,
) -> ApiResult<(StatusCode, AppJson<ProductDetail>)> {
    let currency = state.shop.config().currency;
    let skus = body
        .skus
        .into_iter()
        .map(|s| {
            Ok(SkuDraft {
                price: Money::parse(s.price.trim(), currency)?,
                title: s.title,
                description: s.description,
                stock: s.stock,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let (product, _): (Product, Vec<Sku>) =
        state.shop.create_product(body.product.into(), skus).await?;
    let detail = state.shop.admin_product_detail(product.id).await?;
    Ok((StatusCode::CREATED, AppJson(detail)))
}

/// Changes a product's fields.
#[utoipa::path(put, path = "/api/admin/products/{id}", params(("id" = i64, Path, description = "product id")),
    request_body = ProductBody,
    responses((status = 200, description = "the product"), (status = 400), (status = 401), (status = 403), (status = 404)))]
pub async fn update_product(
    State(state): State<AppState>,
    _: AdminUser,
    AppPath(id): AppPath<i64>,
    AppJson(body): AppJson<ProductBody>,
) -> ApiResult<AppJson<Product>> {
    Ok(AppJson(
        state
            .shop
            .update_product(ProductId(id), body.into())
            .await?,
    ))
}

/// Takes a product off sale.
#[utoipa::path(post, path = "/api/admin/products/{id}/off-sale", params(("id" = i64, Path, description = "product id")),
    responses((status = 200, description = "the product"), (status = 401), (status = 403), (status = 404)))]
pub async fn off_sale(
    State(state): State<AppState>,
    _: AdminUser,
    AppPath(id): AppPath<i64>,
) -> ApiResult<AppJson<Product>> {
    Ok(AppJson(state.shop.set_on_sale(ProductId(id), false).await?))
}

/// Creates a category.
#[utoipa::path(post, path = "/api/admin/categories", request_body = CategoryBody,
    responses((status = 201, description = "the category"), (status = 400), (status = 401), (status = 403), (status = 404)))]
pub async fn create_category(
    State(state): State<AppState>,
    _: AdminUser,
    AppJson(body): AppJson<CategoryBody>,
) -> ApiResult<(StatusCode, AppJson<Category>)> {
    let category = state
        .shop
        .create_category(
            &body.name,
            body.is_directory,
            body.parent_id.map(CategoryId),
        )
        .await?;
    Ok((StatusCode::CREATED, AppJson(category)))
}

/// Every order, newest first.
#[utoipa::path(get, path = "/api/admin/orders", params(AdminOrderQuery),
    responses((status = 200, description = "{items, total}"), (status = 400), (status = 401), (status = 403)))]
pub async fn orders(
    State(state): State<AppState>,
    _: AdminUser,
    AppQuery(q): AppQuery<AdminOrderQuery>,
) -> ApiResult<AppJson<Page<Order>>> {
    let (page, per_page) = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .get();
    Ok(AppJson(
        state
            .shop
            .list_orders(OrderQuery {
                user_id: None,
                status: q.status,
                page,
                per_page,
            })
            .await?,
    ))
}

/// Any order.
#[utoipa::path(get, path = "/api/admin/orders/{id}", params(("id" = i64, Path, description = "order id")),
    responses((status = 200, description = "the order"), (status = 401), (status = 403), (status = 404)))]
pub async fn order(
    State(state): State<AppState>,
    _: AdminUser,
    AppPath(id): AppPath<i64>,
) -> ApiResult<AppJson<Order>> {
    Ok(AppJson(state.shop.any_order(OrderId(id)).await?))
}

/// Ships a paid order.
#[utoipa::path(post, path = "/api/admin/orders/{id}/ship", params(("id" = i64, Path, description = "order id")),
    request_body = ShipBody,
    responses((status = 200, description = "the order"), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)))]
pub async fn ship(
    State(state): State<AppState>,
    _: AdminUser,
    AppPath(id): AppPath<i64>,
    AppJson(body): AppJson<ShipBody>,
) -> ApiResult<AppJson<Order>> {
    Ok(AppJson(
        state
            .shop
            .ship_order(OrderId(id), &body.carrier, &body.tracking_no)
            .await?,
    ))
}

/// Approves a refund application: refunds everything not yet refunded
/// through the gateway that took the payment.
#[utoipa::path(post, path = "/api/admin/orders/{id}/refund/approve", params(("id" = i64, Path, description = "order id")),
    responses((status = 200, description = "the refund"), (status = 401), (status = 403), (status = 404), (status = 409)))]
pub async fn approve_refund(
    State(state): State<AppState>,
    _: AdminUser,
    AppPath(id): AppPath<i64>,
) -> ApiResult<AppJson<Refund>> {
    Ok(AppJson(state.shop.approve_refund(OrderId(id), None).await?))
}

/// Refuses a refund application, keeping the reason.
#[utoipa::path(post, path = "/api/admin/orders/{id}/refund/refuse", params(("id" = i64, Path, description = "order id")),
    request_body = ReasonBody,
    responses((status = 200, description = "the order"), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)))]
pub async fn refuse_refund(
    State(state): State<AppState>,
    _: AdminUser,
    AppPath(id): AppPath<i64>,
    AppJson(body): AppJson<ReasonBody>,
) -> ApiResult<AppJson<Order>> {
    Ok(AppJson(
        state.shop.refuse_refund(OrderId(id), &body.reason).await?,
    ))
}

/// Every coupon, newest first.
#[utoipa::path(get, path = "/api/admin/coupons", responses((status = 200, description = "coupons"), (status = 401), (status = 403)))]
pub async fn coupons(
    State(state): State<AppState>,
    _: AdminUser,
) -> ApiResult<AppJson<Vec<Coupon>>> {
    Ok(AppJson(state.shop.coupons().await?))
}

/// Creates a coupon.
#[utoipa::path(post, path = "/api/admin/coupons", request_body = CouponBody,
    responses((status = 201, description = "the coupon"), (status = 400), (status = 401), (status = 403), (status = 409)))]
pub async fn create_coupon(
    State(state): State<AppState>,
    _: AdminUser,
    AppJson(body): AppJson<CouponBody>,
) -> ApiResult<(StatusCode, AppJson<Coupon>)> {
    let draft = body.draft(&state.shop)?;
    let coupon = state.shop.create_coupon(draft, body.code).await?;
    Ok((StatusCode::CREATED, AppJson(coupon)))
}

/// Changes a coupon's settings.
#[utoipa::path(put, path = "/api/admin/coupons/{id}", params(("id" = i64, Path, description = "coupon id")),
    request_body = CouponBody,
    responses((status = 200, description = "the coupon"), (status = 400), (status = 401), (status = 403), (status = 404)))]
pub async fn update_coupon(
    State(state): State<AppState>,
    _: AdminUser,
    AppPath(id): AppPath<i64>,
    AppJson(body): AppJson<CouponBody>,
) -> ApiResult<AppJson<Coupon>> {
    let draft = body.draft(&state.shop)?;
    Ok(AppJson(
        state.shop.update_coupon(CouponId(id), draft).await?,
    ))
}

/// Deletes a coupon no order refers to.
#[utoipa::path(delete, path = "/api/admin/coupons/{id}", params(("id" = i64, Path, description = "coupon id")),
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 409)))]
pub async fn delete_coupon(
    State(state): State<AppState>,
    _: AdminUser,
    AppPath(id): AppPath<i64>,
) -> ApiResult<StatusCode> {
    state.shop.delete_coupon(CouponId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every account, oldest first.
#[utoipa::path(get, path = "/api/admin/users", params(PageQuery),
    responses((status = 200, description = "{items, total}"), (status = 400), (status = 401), (status = 403)))]
pub async fn users(
    State(state): State<AppState>,
    _: AdminUser,
    AppQuery(q): AppQuery<PageQuery>,
) -> ApiResult<AppJson<Page<Account>>> {
    let (page, per_page) = q.get();
    if page == 0 {
        return Err(Error::validation("page", "pages start at 1").into());
    }
    if !(1..=100).contains(&per_page) {
        return Err(Error::validation("per_page", "must be between 1 and 100").into());
    }
    Ok(AppJson(state.accounts.list_accounts(page, per_page).await?))
}
