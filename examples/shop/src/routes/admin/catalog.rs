//! Admin: products with SKUs, taking them off sale, categories.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::extract::{AdminUser, AppJson, AppPath};
use crate::state::AppState;
use shop_core::catalog::{Category, Product, ProductDraft, ProductKind, Property, Sku, SkuDraft};
use shop_core::ids::{CategoryId, ProductId, SkuId};
use shop_core::service::ProductDetail;
use shop_core::{Error, Money};

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
    pub category_id: Option<CategoryId>,
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
            category_id: b.category_id,
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

impl SkuBody {
    /// The draft, with the price parsed in the shop's currency.
    fn draft(self, state: &AppState) -> Result<SkuDraft, Error> {
        Ok(SkuDraft {
            price: Money::parse(self.price.trim(), state.shop.config().currency)
                .map_err(|e| Error::validation("sku.price", e.to_string()))?,
            title: self.title,
            description: self.description,
            stock: self.stock,
        })
    }
}

/// `POST /api/admin/skus/{id}/stock`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StockBody {
    /// Units to add (negative to remove); the stock stays between 0 and
    /// 1,000,000,000.
    pub delta: i64,
}

/// A SKU's stock after a change.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct StockView {
    /// The SKU.
    pub sku_id: SkuId,
    /// Its stock now.
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
    pub parent_id: Option<CategoryId>,
}

/// Creates a product with its SKUs.
#[utoipa::path(post, path = "/api/admin/products", request_body = CreateProductBody,
    responses((status = 201, description = "{product, skus, breadcrumbs}", body = ProductDetail), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse)))]
pub async fn create_product(
    State(state): State<AppState>,
    _: AdminUser,
    AppJson(body): AppJson<CreateProductBody>,
) -> ApiResult<(StatusCode, AppJson<ProductDetail>)> {
    let skus = body
        .skus
        .into_iter()
        .map(|s| s.draft(&state))
        .collect::<Result<Vec<_>, Error>>()?;
    let (product, _): (Product, Vec<Sku>) =
        state.shop.create_product(body.product.into(), skus).await?;
    let detail = state.shop.admin_product_detail(product.id).await?;
    Ok((StatusCode::CREATED, AppJson(detail)))
}

/// Changes a product's fields.
#[utoipa::path(put, path = "/api/admin/products/{id}", params(("id" = i64, Path, description = "product id")),
    request_body = ProductBody,
    responses((status = 200, description = "the product", body = Product), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse)))]
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
    responses((status = 200, description = "the product", body = Product), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse)))]
pub async fn off_sale(
    State(state): State<AppState>,
    _: AdminUser,
    AppPath(id): AppPath<i64>,
) -> ApiResult<AppJson<Product>> {
    Ok(AppJson(state.shop.set_on_sale(ProductId(id), false).await?))
}

/// Creates a category.
#[utoipa::path(post, path = "/api/admin/categories", request_body = CategoryBody,
    responses((status = 201, description = "the category", body = Category), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse)))]
pub async fn create_category(
    State(state): State<AppState>,
    _: AdminUser,
    AppJson(body): AppJson<CategoryBody>,
) -> ApiResult<(StatusCode, AppJson<Category>)> {
    let category = state
        .shop
        .create_category(&body.name, body.is_directory, body.parent_id)
        .await?;
    Ok((StatusCode::CREATED, AppJson(category)))
}

/// Adds a SKU to a product (its price refreshes the product's price).
#[utoipa::path(post, path = "/api/admin/products/{id}/skus", params(("id" = i64, Path, description = "product id")),
    request_body = SkuBody,
    responses((status = 201, description = "the SKU", body = Sku), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse)))]
pub async fn add_sku(
    State(state): State<AppState>,
    _: AdminUser,
    AppPath(id): AppPath<i64>,
    AppJson(body): AppJson<SkuBody>,
) -> ApiResult<(StatusCode, AppJson<Sku>)> {
    let draft = body.draft(&state)?;
    let sku = state.shop.add_sku(ProductId(id), draft).await?;
    Ok((StatusCode::CREATED, AppJson(sku)))
}

/// Changes a SKU's title, description and price; its stock changes only
/// through `POST /api/admin/skus/{id}/stock` (the `stock` field is ignored).
#[utoipa::path(put, path = "/api/admin/skus/{id}", params(("id" = i64, Path, description = "SKU id")),
    request_body = SkuBody,
    responses((status = 200, description = "the SKU", body = Sku), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse)))]
pub async fn update_sku(
    State(state): State<AppState>,
    _: AdminUser,
    AppPath(id): AppPath<i64>,
    AppJson(body): AppJson<SkuBody>,
) -> ApiResult<AppJson<Sku>> {
    let draft = body.draft(&state)?;
    Ok(AppJson(state.shop.update_sku(SkuId(id), draft).await?))
}

/// Adds units to (or removes them from) a SKU's stock, atomically.
#[utoipa::path(post, path = "/api/admin/skus/{id}/stock", params(("id" = i64, Path, description = "SKU id")),
    request_body = StockBody,
    responses((status = 200, description = "the new stock", body = StockView), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse),
        (status = 409, description = "removing more than is in stock (`out_of_stock`)", body = crate::error::ErrorResponse)))]
pub async fn adjust_stock(
    State(state): State<AppState>,
    _: AdminUser,
    AppPath(id): AppPath<i64>,
    AppJson(body): AppJson<StockBody>,
) -> ApiResult<AppJson<StockView>> {
    let stock = state.shop.adjust_stock(SkuId(id), body.delta).await?;
    Ok(AppJson(StockView {
        sku_id: SkuId(id),
        stock,
    }))
}
