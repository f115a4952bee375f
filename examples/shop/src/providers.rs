//! The real payment providers, configured from flags or environment
//! variables. A provider is registered only when its settings are given;
//! with any of them configured, the sandbox is off unless `SHOP_SANDBOX=on`.
//!
//! Keys (`--alipay-private-key`, `--alipay-public-key`,
//! `--wechat-private-key`, `--wechat-platform-public-key`) take either the
//! PEM text itself or the path of a file holding it. Every provider's
//! notifications arrive at `/api/payments/{name}/notify`.

use std::path::Path;
use std::sync::Arc;

use shop_core::payment::PaymentGateway;
use shop_payments::alipay::{AlipayConfig, AlipayKeys, RsaPrivateKey, RsaPublicKey};
use shop_payments::stripe::{StripeConfig, StripeGateway};
use shop_payments::transport::{ReqwestTransport, Transport};
use shop_payments::wechat::keys::{ApiV3Key, PlatformKeys, SigningKey};
use shop_payments::wechat::WechatPayConfig;
use shop_payments::{AlipayGateway, WechatPayGateway};

use crate::BoxError;

/// Settings of the real providers (all optional).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ProviderArgs {
    /// Stripe secret API key (`sk_…`).
    #[arg(long, env = "SHOP_STRIPE_SECRET_KEY", hide_env_values = true)]
    pub stripe_secret_key: Option<String>,
    /// Stripe webhook signing secret (`whsec_…`).
    #[arg(long, env = "SHOP_STRIPE_WEBHOOK_SECRET", hide_env_values = true)]
    pub stripe_webhook_secret: Option<String>,
    /// Stripe account id (`acct_…`).
    #[arg(long, env = "SHOP_STRIPE_ACCOUNT_ID")]
    pub stripe_account_id: Option<String>,
    /// Stripe publishable key (`pk_…`), for the checkout page's Stripe.js.
    #[arg(long, env = "SHOP_STRIPE_PUBLISHABLE_KEY")]
    pub stripe_publishable_key: Option<String>,

    /// Alipay application id.
    #[arg(long, env = "SHOP_ALIPAY_APP_ID")]
    pub alipay_app_id: Option<String>,
    /// The application's RSA private key (PEM or base64 text, or a file path).
    #[arg(long, env = "SHOP_ALIPAY_PRIVATE_KEY", hide_env_values = true)]
    pub alipay_private_key: Option<String>,
    /// Alipay's public key (public-key mode; PEM or base64 text, or a file path).
    #[arg(long, env = "SHOP_ALIPAY_PUBLIC_KEY")]
    pub alipay_public_key: Option<String>,
    /// Alipay's gateway URL (default: production).
    #[arg(long, env = "SHOP_ALIPAY_GATEWAY_URL")]
    pub alipay_gateway_url: Option<String>,

    /// WeChat Pay merchant id.
    #[arg(long, env = "SHOP_WECHAT_MCHID")]
    pub wechat_mchid: Option<String>,
    /// WeChat app id the merchant is bound to.
    #[arg(long, env = "SHOP_WECHAT_APPID")]
    pub wechat_appid: Option<String>,
    /// Serial number of the merchant API certificate.
    #[arg(long, env = "SHOP_WECHAT_SERIAL_NO")]
    pub wechat_serial_no: Option<String>,
    /// The merchant's PKCS#8 private key (PEM text or a file path).
    #[arg(long, env = "SHOP_WECHAT_PRIVATE_KEY", hide_env_values = true)]
    pub wechat_private_key: Option<String>,
    /// The 32-byte APIv3 key.
    #[arg(long, env = "SHOP_WECHAT_APIV3_KEY", hide_env_values = true)]
    pub wechat_apiv3_key: Option<String>,
    /// Id of WeChat Pay's platform public key (`PUB_KEY_ID_…`).
    #[arg(long, env = "SHOP_WECHAT_PLATFORM_KEY_ID")]
    pub wechat_platform_key_id: Option<String>,
    /// WeChat Pay's platform public key (PEM text or a file path).
    #[arg(long, env = "SHOP_WECHAT_PLATFORM_PUBLIC_KEY")]
    pub wechat_platform_public_key: Option<String>,
}

/// A key given as text, or the contents of the file it names.
fn key_text(value: &str) -> Result<String, BoxError> {
    if !value.contains("-----BEGIN") && Path::new(value).is_file() {
        Ok(std::fs::read_to_string(value)?)
    } else {
        Ok(value.to_owned())
    }
}

/// All of a provider's settings, or none: naming what is missing otherwise.
fn all_or_none<const N: usize>(
    provider: &str,
    fields: [(&str, &Option<String>); N],
) -> Result<Option<[String; N]>, BoxError> {
    let missing: Vec<&str> = fields
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(name, _)| *name)
        .collect();
    if missing.len() == N {
        return Ok(None);
    }
    if !missing.is_empty() {
        return Err(format!("{provider} is half configured: set {}", missing.join(", ")).into());
    }
    Ok(Some(fields.map(|(_, v)| v.clone().unwrap_or_default())))
}

impl ProviderArgs {
    /// The configured providers, with notifications at
    /// `{public_url}/api/payments/{name}/notify`.
    pub fn gateways(&self, public_url: &str) -> Result<Vec<Arc<dyn PaymentGateway>>, BoxError> {
        let notify = |name: &str| format!("{public_url}/api/payments/{name}/notify");
        let mut gateways: Vec<Arc<dyn PaymentGateway>> = Vec::new();
        let mut transport: Option<Arc<dyn Transport>> = None;
        let mut transport = || -> Result<Arc<dyn Transport>, BoxError> {
            if transport.is_none() {
                transport = Some(Arc::new(ReqwestTransport::new()?));
            }
            Ok(transport.clone().expect("just set"))
        };

        if let Some([key, webhook, account, _publishable]) = all_or_none(
            "Stripe",
            [
                ("SHOP_STRIPE_SECRET_KEY", &self.stripe_secret_key),
                ("SHOP_STRIPE_WEBHOOK_SECRET", &self.stripe_webhook_secret),
                ("SHOP_STRIPE_ACCOUNT_ID", &self.stripe_account_id),
                ("SHOP_STRIPE_PUBLISHABLE_KEY", &self.stripe_publishable_key),
            ],
        )? {
            let config = StripeConfig::new(
                key,
                webhook,
                account,
                format!("{public_url}/stripe/checkout"),
            );
            gateways.push(Arc::new(StripeGateway::new(config, transport()?)));
        }

        if let Some([app_id, private_key, public_key]) = all_or_none(
            "Alipay",
            [
                ("SHOP_ALIPAY_APP_ID", &self.alipay_app_id),
                ("SHOP_ALIPAY_PRIVATE_KEY", &self.alipay_private_key),
                ("SHOP_ALIPAY_PUBLIC_KEY", &self.alipay_public_key),
            ],
        )? {
            let private_key = RsaPrivateKey::from_pem_or_base64(&key_text(&private_key)?)?;
            let public_key = RsaPublicKey::from_pem_or_base64(&key_text(&public_key)?)?;
            let mut config =
                AlipayConfig::new(app_id, private_key, AlipayKeys::PublicKey(public_key));
            config.notify_url = Some(notify("alipay"));
            if let Some(url) = &self.alipay_gateway_url {
                config.gateway_url = url.clone();
            }
            gateways.push(Arc::new(AlipayGateway::new(config, transport()?)));
        }

        if let Some([mchid, appid, serial, private_key, apiv3, key_id, platform_key]) = all_or_none(
            "WeChat Pay",
            [
                ("SHOP_WECHAT_MCHID", &self.wechat_mchid),
                ("SHOP_WECHAT_APPID", &self.wechat_appid),
                ("SHOP_WECHAT_SERIAL_NO", &self.wechat_serial_no),
                ("SHOP_WECHAT_PRIVATE_KEY", &self.wechat_private_key),
                ("SHOP_WECHAT_APIV3_KEY", &self.wechat_apiv3_key),
                ("SHOP_WECHAT_PLATFORM_KEY_ID", &self.wechat_platform_key_id),
                (
                    "SHOP_WECHAT_PLATFORM_PUBLIC_KEY",
                    &self.wechat_platform_public_key,
                ),
            ],
        )? {
            let signing = SigningKey::from_pkcs8_pem(serial, key_text(&private_key)?.as_bytes())?;
            let mut platform = PlatformKeys::new();
            platform.add_public_key_pem(key_id, key_text(&platform_key)?.as_bytes())?;
            let config = WechatPayConfig::new(
                mchid,
                appid,
                signing,
                ApiV3Key::new(apiv3.as_bytes())?,
                platform,
                notify("wechat"),
            );
            gateways.push(Arc::new(WechatPayGateway::new(config, transport()?)));
        }
        Ok(gateways)
    }
}
