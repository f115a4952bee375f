//! Checkout and the buyer's orders: submit token, placing, listing, paying,
//! confirming receipt, reviewing and applying for a refund.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shop_core::ids::{AddressId, OrderId, OrderItemId, SkuId};
use shop_core::order::Order;
use shop_core::page::Page;
use shop_core::payment::PaymentAction;
use shop_core::service::{OrderLineRequest, OrderView, PlaceOrderRequest, ReviewRequest};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiResult;
use crate::extract::{AppJson, AppPath, AppQuery, ClientIp, CurrentUser};
use crate::routes::catalog::DEFAULT_PER_PAGE;
use crate::state::AppState;

/// A fresh checkout submit token.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubmitToken {
    /// Send it as `submit_token` with the order; it works once.
    pub submit_token: String,
}

/// One line of `POST /api/orders`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OrderLineBody {
    /// The SKU.
    pub sku_id: SkuId,
    /// Units (1–999).
    pub quantity: i64,
}

/// `POST /api/orders`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PlaceOrderBody {
    /// One of the caller's addresses.
    pub address_id: AddressId,
    /// The lines (each SKU once).
    pub items: Vec<OrderLineBody>,
    /// A coupon code.
    #[serde(default)]
    pub coupon_code: Option<String>,
    /// A note for the shop.
    #[serde(default)]
    pub remark: String,
    /// The token from `GET /api/checkout/token` (required). It is the
    /// request's idempotency key: the same request sent again with it
    /// answers the order it placed; another request with it is a 409.
    pub submit_token: String,
}

impl From<PlaceOrderBody> for PlaceOrderRequest {
    fn from(b: PlaceOrderBody) -> Self {
        PlaceOrderRequest {
            address_id: b.address_id,
            items: b
                .items
                .into_iter()
                .map(|l| OrderLineRequest {
                    sku_id: l.sku_id,
                    quantity: l.quantity,
                })
                .collect(),
            coupon_code: b.coupon_code,
            remark: b.remark,
            submit_token: Some(b.submit_token),
        }
    }
}

/// Pagination of order lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page, from 1.
    pub page: Option<u32>,
    /// Page size, 1–100.
    pub per_page: Option<u32>,
}

impl PageQuery {
    /// `(page, per_page)` with defaults.
    pub fn get(&self) -> (u32, u32) {
        (
            self.page.unwrap_or(1),
            self.per_page.unwrap_or(DEFAULT_PER_PAGE),
        )
    }
}

/// Where to pay.
#[derive(Debug, Serialize, ToSchema)]
pub struct PayResponse {
    /// The gateway's pay page, for gateways that redirect (sandbox, Alipay
    /// page pay, WeChat H5, Stripe's checkout page).
    pub redirect_url: Option<String>,
    /// Content to show as a QR code (WeChat Native, Alipay precreate).
    pub qr_code: Option<String>,
    /// That QR code as an SVG image.
    pub qr_svg: Option<String>,
}

/// Which gateway pays.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PayQuery {
    /// A registered gateway's name: `sandbox`, `stripe`, `alipay` or
    /// `wechat`. Default: the sandbox when it is on, else the only
    /// configured provider.
    pub gateway: Option<String>,
}

/// One line's review.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LineReviewBody {
    /// The order line.
    pub item_id: OrderItemId,
    /// Stars, 1–5.
    pub rating: i64,
    /// The text.
    #[serde(default)]
    pub text: String,
}

/// `POST /api/orders/{id}/review`: one review per line.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReviewBody {
    /// Every line's review.
    pub reviews: Vec<LineReviewBody>,
}

/// A reason (refund applications and refusals).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReasonBody {
    /// Why (1–500 characters).
    pub reason: String,
}

/// Issues a one-time submit token for the checkout form.
#[utoipa::path(get, path = "/api/checkout/token", responses((status = 200, body = SubmitToken), (status = 401, body = crate::error::ErrorResponse)))]
pub async fn checkout_token(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<AppJson<SubmitToken>> {
    let submit_token = state.shop.issue_submit_token(user.account.id).await?;
    Ok(AppJson(SubmitToken { submit_token }))
}

/// Places an order (stock, coupon, submit token and cart in one atomic step).
#[utoipa::path(post, path = "/api/orders", request_body = PlaceOrderBody,
    responses((status = 201, description = "the order; the same request sent again with the same submit token answers the same order", body = Order), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse),
        (status = 404, description = "unknown or expired submit token, unknown address or SKU", body = crate::error::ErrorResponse),
        (status = 409, description = "out of stock (`out_of_stock`), the submit token already placed an order for a different request (`submit_token_reused`), or another submission with it is placing its order (`submit_token_in_use`: send again)", body = crate::error::ErrorResponse), (status = 422, description = "coupon rejected", body = crate::error::ErrorResponse), (status = 429, body = crate::error::ErrorResponse)))]
pub async fn place(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: CurrentUser,
    AppJson(body): AppJson<PlaceOrderBody>,
) -> ApiResult<(StatusCode, AppJson<Order>)> {
    state.limiter.check("place_order", ip).await?;
    let order = state.shop.place_order(user.account.id, body.into()).await?;
    Ok((StatusCode::CREATED, AppJson(order)))
}

/// The caller's orders, newest first, with their lines' products.
#[utoipa::path(get, path = "/api/orders", params(PageQuery),
    responses((status = 200, description = "{items, total}", body = Page<OrderView>), (status = 401, body = crate::error::ErrorResponse)))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    AppQuery(q): AppQuery<PageQuery>,
) -> ApiResult<AppJson<Page<OrderView>>> {
    let (page, per_page) = q.get();
    Ok(AppJson(
        state
            .shop
            .order_views(user.account.id, page, per_page)
            .await?,
    ))
}

/// One of the caller's orders.
#[utoipa::path(get, path = "/api/orders/{id}", params(("id" = i64, Path, description = "order id")),
    responses((status = 200, description = "the order", body = Order), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse)))]
pub async fn get(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<i64>,
) -> ApiResult<AppJson<Order>> {
    Ok(AppJson(
        state.shop.order(user.account.id, OrderId(id)).await?,
    ))
}

/// Starts paying a pending order through a gateway.
#[utoipa::path(post, path = "/api/orders/{id}/pay", params(("id" = i64, Path, description = "order id"), PayQuery),
    responses((status = 200, body = PayResponse), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse), (status = 409, body = crate::error::ErrorResponse)))]
pub async fn pay(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<i64>,
    AppQuery(q): AppQuery<PayQuery>,
) -> ApiResult<AppJson<PayResponse>> {
    let gateway = match q.gateway {
        Some(name) => name,
        None => state.shop.default_gateway()?,
    };
    let action = state
        .shop
        .start_payment(user.account.id, OrderId(id), &gateway, None)
        .await?;
    Ok(AppJson(PayResponse::from(action)))
}

impl From<PaymentAction> for PayResponse {
    fn from(action: PaymentAction) -> Self {
        match action {
            PaymentAction::Redirect(url) => PayResponse {
                redirect_url: Some(url),
                qr_code: None,
                qr_svg: None,
            },
            PaymentAction::QrCode(code) => PayResponse {
                redirect_url: None,
                qr_svg: shop_payments::qr_svg(&code).ok(),
                qr_code: Some(code),
            },
        }
    }
}

/// Confirms receipt of a shipped order.
#[utoipa::path(post, path = "/api/orders/{id}/received", params(("id" = i64, Path, description = "order id")),
    responses((status = 200, description = "the order", body = Order), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse), (status = 409, body = crate::error::ErrorResponse)))]
pub async fn received(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<i64>,
) -> ApiResult<AppJson<Order>> {
    Ok(AppJson(
        state
            .shop
            .confirm_receipt(user.account.id, OrderId(id))
            .await?,
    ))
}

/// Reviews every line of a received order.
#[utoipa::path(post, path = "/api/orders/{id}/review", params(("id" = i64, Path, description = "order id")),
    request_body = ReviewBody,
    responses((status = 200, description = "the order", body = Order), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse), (status = 409, body = crate::error::ErrorResponse)))]
pub async fn review(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<i64>,
    AppJson(body): AppJson<ReviewBody>,
) -> ApiResult<AppJson<Order>> {
    let reviews = body
        .reviews
        .into_iter()
        .map(|r| ReviewRequest {
            item_id: r.item_id,
            rating: r.rating,
            text: r.text,
        })
        .collect();
    Ok(AppJson(
        state
            .shop
            .review_order(user.account.id, OrderId(id), reviews)
            .await?,
    ))
}

/// Applies for a refund of a paid order.
#[utoipa::path(post, path = "/api/orders/{id}/refund", params(("id" = i64, Path, description = "order id")),
    request_body = ReasonBody,
    responses((status = 200, description = "the order", body = Order), (status = 400, body = crate::error::ErrorResponse), (status = 401, body = crate::error::ErrorResponse), (status = 403, body = crate::error::ErrorResponse), (status = 404, body = crate::error::ErrorResponse), (status = 409, body = crate::error::ErrorResponse)))]
pub async fn apply_refund(
    State(state): State<AppState>,
    user: CurrentUser,
    AppPath(id): AppPath<i64>,
    AppJson(body): AppJson<ReasonBody>,
) -> ApiResult<AppJson<Order>> {
    Ok(AppJson(
        state
            .shop
            .apply_refund(user.account.id, OrderId(id), &body.reason)
            .await?,
    ))
}
