//! Storefront catalog: the category tree, product listing and detail,
//! favorites.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shop_core::catalog::{CategoryNode, Product, ProductQuery, ProductSort, Property};
use shop_core::ids::{CategoryId, ProductId};
use shop_core::page::Page;
use shop_core::search::{SearchQuery, SearchSort};
use shop_core::service::{ProductDetail, SearchPage};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiResult;
use crate::extract::{AppJson, AppPath, AppQuery, CurrentUser};
use crate::state::AppState;

/// Default page size of listings.
pub const DEFAULT_PER_PAGE: u32 = 20;

/// Query of `GET /api/products`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProductListQuery {
    /// Only this category and its subtree.
    pub category_id: Option<i64>,
    /// Words in the title, long title, description or SKU titles.
    pub keyword: Option<String>,
    /// `newest`, `price_asc`, `price_desc`, `sold_count_desc`,
    /// `rating_desc` or `review_count_desc`.
    pub sort: Option<ProductSort>,
    /// Page, from 1.
    pub page: Option<u32>,
    /// Page size, 1–100.
    pub per_page: Option<u32>,
}

/// The rule of `properties` in `GET /api/search`: `name:value` pairs
/// separated by `;`, names and values not blank.
pub const PROPERTIES_PATTERN: &str =
    r"^[^:;]*[^:;\s][^:;]*:[^;]*[^;\s][^;]*(;[^:;]*[^:;\s][^:;]*:[^;]*[^;\s][^;]*)*$";

/// Query of `GET /api/search`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Words to find (Chinese or English; a phrase in double quotes; the
    /// last word may be the start of one).
    pub keyword: Option<String>,
    /// Only this category and its subtree.
    pub category_id: Option<i64>,
    /// Lowest price, e.g. `100` or `99.90`.
    #[param(value_type = Option<String>)]
    pub min_price: Option<rust_decimal::Decimal>,
    /// Highest price.
    #[param(value_type = Option<String>)]
    pub max_price: Option<rust_decimal::Decimal>,
    /// Property filters, `name:value` pairs separated by `;`: every name
    /// must match one of its values (e.g. `颜色:黑色;颜色:红色;内存:12GB`).
    pub properties: Option<String>,
    /// Only products with stock.
    pub in_stock: Option<bool>,
    /// `relevance` (the default), `price_asc`, `price_desc`, `sold_desc`,
    /// `rating_desc`, `reviews_desc` or `newest`.
    pub sort: Option<SearchSort>,
    /// Page, from 1.
    pub page: Option<u32>,
    /// Page size, 1–100.
    pub per_page: Option<u32>,
}

/// Searches the products on sale: a page of them with the sidebar (each
/// property's value counts, the category's children, price buckets).
/// Answered from the search index; without one (a PostgreSQL or MySQL
/// shop with no `SHOP_SEARCH_DIR`), keyword, category and sort only.
#[utoipa::path(get, path = "/api/search", params(SearchParams),
    responses((status = 200, description = "{items, total, facets, categories, price_buckets}", body = SearchPage), (status = 400, body = crate::error::ErrorResponse)))]
pub async fn search(
    State(state): State<AppState>,
    AppQuery(q): AppQuery<SearchParams>,
) -> ApiResult<AppJson<SearchPage>> {
    let mut properties = Vec::new();
    for pair in q.properties.as_deref().unwrap_or_default().split(';') {
        if pair.trim().is_empty() {
            continue;
        }
        let Some((name, value)) = pair.split_once(':') else {
            return Err(
                shop_core::Error::validation("properties", "each filter is name:value").into(),
            );
        };
        properties.push(Property {
            name: name.trim().to_owned(),
            value: value.trim().to_owned(),
        });
    }
    let query = SearchQuery {
        keyword: q.keyword.filter(|k| !k.trim().is_empty()),
        category_id: q.category_id.map(CategoryId),
        min_price: q.min_price,
        max_price: q.max_price,
        properties,
        in_stock: q.in_stock.unwrap_or(false),
        sort: q.sort.unwrap_or_default(),
        page: q.page.unwrap_or(1),
        per_page: q.per_page.unwrap_or(DEFAULT_PER_PAGE),
    };
    Ok(AppJson(state.shop.search(query).await?))
}

/// Query of `GET /api/products/{id}/similar`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SimilarParams {
    /// How many, 1–100 (default 10).
    pub limit: Option<u32>,
}

/// Products sharing at least half of this product's properties, most
/// shared first (empty without a search index).
#[utoipa::path(get, path = "/api/products/{id}/similar", params(("id" = i64, Path, description = "product id"), SimilarParams),
    responses((status = 200, description = "products", body = Vec<Product>), (status = 400, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse)))]
pub async fn similar(
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
    AppQuery(q): AppQuery<SimilarParams>,
) -> ApiResult<AppJson<Vec<Product>>> {
    Ok(AppJson(
        state
            .shop
            .similar_products(ProductId(id), q.limit.unwrap_or(10))
            .await?,
    ))
}

/// The whole category tree.
#[utoipa::path(get, path = "/api/categories", responses((status = 200, description = "the tree of categories", body = Vec<CategoryNode>)))]
pub async fn categories(State(state): State<AppState>) -> ApiResult<AppJson<Vec<CategoryNode>>> {
    Ok(AppJson(state.shop.category_tree().await?))
}

/// On-sale products, filtered, sorted and paginated.
#[utoipa::path(get, path = "/api/products", params(ProductListQuery),
    responses((status = 200, description = "a page of products: {items, total, total_capped}; the total counts up to 10,000 matches (`total_capped` when more match)", body = Page<Product>), (status = 400, body = crate::error::ErrorResponse), (status = 404, description = "unknown category", body = crate::error::ErrorResponse)))]
pub async fn products(
    State(state): State<AppState>,
    AppQuery(q): AppQuery<ProductListQuery>,
) -> ApiResult<AppJson<Page<Product>>> {
    let query = ProductQuery {
        category_id: q.category_id.map(CategoryId),
        keyword: q.keyword.filter(|k| !k.trim().is_empty()),
        on_sale: Some(true),
        sort: q.sort.unwrap_or_default(),
        page: q.page.unwrap_or(1),
        per_page: q.per_page.unwrap_or(DEFAULT_PER_PAGE),
        count_limit: None,
    };
    Ok(AppJson(state.shop.browse(query).await?))
}

/// A product page: the product, its SKUs and breadcrumbs.
#[utoipa::path(get, path = "/api/products/{id}", params(("id" = i64, Path, description = "product id")),
    responses((status = 200, description = "{product, skus, breadcrumbs}", body = ProductDetail), (status = 404, body = crate::error::ErrorResponse)))]
pub async fn product(
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
) -> ApiResult<AppJson<ProductDetail>> {
    Ok(AppJson(state.shop.product_detail(ProductId(id)).await?))
}

/// Marks a product a favorite.
#[utoipa::path(post, path = "/api/products/{id}/favorite", params(("id" = i64, Path, description = "product id")),
    responses((status = 204), (status = 401, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse)))]
pub async fn add_favorite(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<i64>,
) -> ApiResult<StatusCode> {
    state
        .shop
        .add_favorite(user.account.id, ProductId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a favorite.
#[utoipa::path(delete, path = "/api/products/{id}/favorite", params(("id" = i64, Path, description = "product id")),
    responses((status = 204), (status = 401, body = crate::error::ErrorResponse)))]
pub async fn remove_favorite(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<i64>,
) -> ApiResult<StatusCode> {
    state
        .shop
        .remove_favorite(user.account.id, ProductId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's favorite products, newest first.
#[utoipa::path(get, path = "/api/favorites", responses((status = 200, description = "products", body = Vec<Product>), (status = 401, body = crate::error::ErrorResponse)))]
pub async fn favorites(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<AppJson<Vec<Product>>> {
    Ok(AppJson(state.shop.favorites(user.account.id).await?))
}

/// `POST /api/me/history`: the product viewed.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ViewBody {
    /// The product.
    pub product_id: ProductId,
}

/// `GET /api/me/history`: how many.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// How many, 1–100 (default 20).
    pub limit: Option<u32>,
}

/// The caller's recently viewed products, the latest first.
#[utoipa::path(get, path = "/api/me/history", params(HistoryQuery),
    responses((status = 200, description = "products", body = Vec<Product>), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse)))]
pub async fn history(
    State(state): State<AppState>,
    user: CurrentUser,
    AppQuery(q): AppQuery<HistoryQuery>,
) -> ApiResult<AppJson<Vec<Product>>> {
    Ok(AppJson(
        state
            .shop
            .recently_viewed(user.account.id, q.limit.unwrap_or(20))
            .await?,
    ))
}

/// Records that the caller viewed a product (a product page sends it; the
/// product JSON itself is cached and the same for everyone). The newest 50
/// are kept.
#[utoipa::path(post, path = "/api/me/history", request_body = ViewBody,
    responses((status = 204), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse)))]
pub async fn record_view(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(body): AppJson<ViewBody>,
) -> ApiResult<StatusCode> {
    state
        .shop
        .record_view(user.account.id, body.product_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
