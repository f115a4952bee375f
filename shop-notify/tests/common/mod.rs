//! Sample notifications shared by the tests.
#![allow(dead_code, unreachable_pub)]

use chrono::{TimeZone, Utc};
use rust_decimal_macros::dec;
use shop_core::notify::{Locale, Message, MessageLine, Notification};
use shop_core::{Currency, Money};

pub const ORDER_NO: &str = "202405010042";
pub const REFUND_NO: &str = "RF202405020007";
pub const TRACKING_NO: &str = "SF1234567890";
pub const TOKEN: &str = "tok_3Kf9+x/Q=";

pub fn cny(amount: rust_decimal::Decimal) -> Money {
    Money::new(amount, Currency::Cny)
}

/// One message of every kind.
pub fn messages() -> Vec<Message> {
    vec![
        Message::VerifyEmail {
            token: TOKEN.to_owned(),
            valid_minutes: 1440,
        },
        Message::ResetPassword {
            token: TOKEN.to_owned(),
            valid_minutes: 30,
        },
        Message::OrderPaid {
            order_no: ORDER_NO.to_owned(),
            total: cny(dec!(328.50)),
            paid_at: Utc.with_ymd_and_hms(2024, 5, 1, 6, 30, 0).unwrap(),
            lines: vec![
                MessageLine {
                    title: "西湖龙井".to_owned(),
                    sku_title: "250 克".to_owned(),
                    quantity: 2,
                    price: cny(dec!(129.00)),
                },
                MessageLine {
                    title: "Tea cup <glass>".to_owned(),
                    sku_title: "Clear".to_owned(),
                    quantity: 1,
                    price: cny(dec!(70.50)),
                },
            ],
        },
        Message::OrderShipped {
            order_no: ORDER_NO.to_owned(),
            carrier: "顺丰速运".to_owned(),
            tracking_no: TRACKING_NO.to_owned(),
        },
        Message::RefundSucceeded {
            order_no: ORDER_NO.to_owned(),
            refund_no: REFUND_NO.to_owned(),
            amount: cny(dec!(129.00)),
        },
        Message::RefundFailed {
            order_no: ORDER_NO.to_owned(),
            refund_no: REFUND_NO.to_owned(),
            amount: cny(dec!(129.00)),
        },
        Message::RefundRefused {
            order_no: ORDER_NO.to_owned(),
            reason: "The seal is broken & the box is opened".to_owned(),
        },
        Message::CrowdfundingSucceeded {
            order_no: ORDER_NO.to_owned(),
            product_title: "Solar lamp <v2>".to_owned(),
        },
        Message::CrowdfundingFailed {
            order_no: ORDER_NO.to_owned(),
            product_title: "太阳能灯".to_owned(),
            total: cny(dec!(1230.00)),
            target: cny(dec!(5000.00)),
        },
        Message::InstallmentDue {
            order_no: ORDER_NO.to_owned(),
            index: 2,
            count: 3,
            amount: cny(dec!(135.33)),
            due_at: Utc.with_ymd_and_hms(2024, 6, 1, 16, 0, 0).unwrap(),
        },
        Message::InstallmentOverdue {
            order_no: ORDER_NO.to_owned(),
            index: 2,
            count: 3,
            amount: cny(dec!(135.60)),
            fine: cny(dec!(0.27)),
            due_at: Utc.with_ymd_and_hms(2024, 6, 1, 16, 0, 0).unwrap(),
        },
    ]
}

pub fn notification(locale: Locale, message: Message) -> Notification {
    Notification {
        key: format!("{}-{}-{}", message.kind(), locale.tag(), ORDER_NO),
        to: "li.lei@example.com".to_owned(),
        name: "李雷".to_owned(),
        locale,
        message,
    }
}

/// What a mail of `message` must show, as its text body prints it.
pub fn facts(message: &Message) -> Vec<String> {
    match message {
        Message::VerifyEmail { token, .. } | Message::ResetPassword { token, .. } => {
            vec![token.clone()]
        }
        Message::OrderPaid {
            order_no,
            total,
            lines,
            ..
        } => {
            let mut v = vec![order_no.clone(), total.to_string()];
            for l in lines {
                v.push(l.title.clone());
                v.push(l.sku_title.clone());
                v.push(l.price.to_string());
            }
            v
        }
        Message::OrderShipped {
            order_no,
            carrier,
            tracking_no,
        } => {
            vec![order_no.clone(), carrier.clone(), tracking_no.clone()]
        }
        Message::RefundSucceeded {
            order_no,
            refund_no,
            amount,
        }
        | Message::RefundFailed {
            order_no,
            refund_no,
            amount,
        } => {
            vec![order_no.clone(), refund_no.clone(), amount.to_string()]
        }
        Message::RefundRefused { order_no, reason } => vec![order_no.clone(), reason.clone()],
        Message::CrowdfundingSucceeded {
            order_no,
            product_title,
        } => vec![order_no.clone(), product_title.clone()],
        Message::CrowdfundingFailed {
            order_no,
            product_title,
            total,
            target,
        } => vec![
            order_no.clone(),
            product_title.clone(),
            total.to_string(),
            target.to_string(),
        ],
        Message::InstallmentDue {
            order_no, amount, ..
        } => vec![order_no.clone(), amount.to_string()],
        Message::InstallmentOverdue {
            order_no,
            amount,
            fine,
            ..
        } => vec![order_no.clone(), amount.to_string(), fine.to_string()],
        _ => unreachable!("a new kind"),
    }
}

/// `s` as HTML-escaped by the templates (minijinja's rules).
pub fn html_escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}
