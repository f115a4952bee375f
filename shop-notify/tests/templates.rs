//! The built-in templates: every kind in every locale, escaping, links,
//! overrides.

mod common;

use chrono::FixedOffset;
use common::*;
use shop_core::notify::{Locale, Message};
use shop_notify::{Error, MailPart, TemplateSettings, Templates, KINDS};

fn templates() -> Templates {
    Templates::new(TemplateSettings {
        shop_name: "Tea House".to_owned(),
        utc_offset: FixedOffset::east_opt(8 * 3600).unwrap(),
        ..TemplateSettings::default()
    })
    .unwrap()
}

#[test]
fn every_kind_renders_in_every_locale_with_its_facts() {
    let templates = templates();
    let kinds: Vec<&str> = messages().iter().map(Message::kind).collect();
    assert_eq!(kinds, KINDS, "the samples cover every kind");
    for locale in Locale::ALL {
        for message in messages() {
            let n = notification(locale, message.clone());
            let mail = templates.render(&n).unwrap();
            let what = format!("{} {}", locale.tag(), message.kind());
            assert!(!mail.subject.trim().is_empty(), "{what}: subject");
            assert!(!mail.text.trim().is_empty(), "{what}: text");
            assert!(!mail.html.trim().is_empty(), "{what}: html");
            assert!(
                !mail.subject.contains(['\r', '\n']),
                "{what}: {:?}",
                mail.subject
            );
            assert!(
                mail.text.contains("李雷"),
                "{what}: greeting\n{}",
                mail.text
            );
            assert!(
                mail.html.contains("李雷"),
                "{what}: greeting\n{}",
                mail.html
            );
            assert!(mail.text.contains("Tea House"), "{what}: shop name");
            assert!(mail.html.contains("Tea House"), "{what}: shop name");
            assert!(
                mail.html
                    .contains(&format!("<html lang=\"{}\">", locale.tag())),
                "{what}: layout"
            );
            for fact in facts(&message) {
                assert!(
                    mail.text.contains(&fact),
                    "{what}: {fact:?} in\n{}",
                    mail.text
                );
                assert!(
                    mail.html.contains(&html_escaped(&fact)),
                    "{what}: {fact:?} in\n{}",
                    mail.html
                );
            }
            if let Message::OrderPaid { .. }
            | Message::OrderShipped { .. }
            | Message::RefundSucceeded { .. }
            | Message::RefundFailed { .. }
            | Message::RefundRefused { .. } = message
            {
                assert!(mail.subject.contains(ORDER_NO), "{what}: {}", mail.subject);
            }
            // No template leaks its syntax.
            for part in [&mail.subject, &mail.text, &mail.html] {
                assert!(
                    !part.contains("{{") && !part.contains("{%"),
                    "{what}:\n{part}"
                );
            }
        }
    }
}

#[test]
fn chinese_mails_read_naturally() {
    let t = templates();
    let paid = t
        .render(&notification(Locale::ZhCn, messages()[2].clone()))
        .unwrap();
    assert_eq!(paid.subject, "【Tea House】订单 202405010042 已支付");
    assert!(paid.text.starts_with("李雷，您好：\n\n"), "{}", paid.text);
    assert!(
        paid.text
            .contains("已于 2024年5月1日 14:30（UTC+08:00）支付成功"),
        "{}",
        paid.text
    );
    assert!(paid.text.contains("实付金额 328.50 CNY"), "{}", paid.text);
    assert!(
        paid.text
            .contains("- 西湖龙井（250 克）× 2，单价 129.00 CNY，小计 258.00 CNY\n"),
        "{}",
        paid.text
    );
    assert!(paid.html.contains(
        "<th align=\"left\" style=\"padding:8px 6px;border-bottom:2px solid #e4e4e7;\">商品</th>"
    ));
    assert!(paid.html.contains(">258.00 CNY</td>"), "{}", paid.html);

    let shipped = t
        .render(&notification(Locale::ZhCn, messages()[3].clone()))
        .unwrap();
    assert_eq!(shipped.subject, "【Tea House】订单 202405010042 已发货");
    assert!(
        shipped
            .text
            .contains("快递公司：顺丰速运\n运单号：SF1234567890\n"),
        "{}",
        shipped.text
    );
    assert!(shipped.html.contains("快递公司") && shipped.html.contains("运单号"));

    let verify = t
        .render(&notification(Locale::ZhCn, messages()[0].clone()))
        .unwrap();
    assert!(verify.text.contains("24 小时内有效"), "{}", verify.text);
}

#[test]
fn english_mails_read_naturally() {
    let t = templates();
    let paid = t
        .render(&notification(Locale::En, messages()[2].clone()))
        .unwrap();
    assert_eq!(paid.subject, "Payment received for order 202405010042");
    assert!(paid.text.starts_with("Hello 李雷,\n\n"), "{}", paid.text);
    assert!(
        paid.text.contains("on 1 May 2024, 14:30 (UTC+08:00)."),
        "{}",
        paid.text
    );
    assert!(paid
        .text
        .contains("- Tea cup <glass> (Clear) x 1 at 70.50 CNY = 70.50 CNY\n"));
    assert!(paid.text.contains("Total paid: 328.50 CNY"));
    assert!(paid.html.contains("Tea cup &lt;glass&gt;"), "{}", paid.html);

    let shipped = t
        .render(&notification(Locale::En, messages()[3].clone()))
        .unwrap();
    assert_eq!(shipped.subject, "Order 202405010042 has shipped");
    assert!(shipped
        .text
        .contains("Carrier: 顺丰速运\nTracking number: SF1234567890\n"));

    let reset = t
        .render(&notification(Locale::En, messages()[1].clone()))
        .unwrap();
    assert!(
        reset.text.contains("valid for 30 minutes"),
        "{}",
        reset.text
    );
    let verify = t
        .render(&notification(Locale::En, messages()[0].clone()))
        .unwrap();
    assert!(
        verify.text.contains("valid for 24 hours"),
        "{}",
        verify.text
    );
    assert!(
        verify.text.ends_with("Please do not reply to it."),
        "{:?}",
        verify.text
    );
}

#[test]
fn an_empty_name_greets_without_one() {
    let t = templates();
    for (locale, greeting) in [(Locale::En, "Hello,\n"), (Locale::ZhCn, "您好：\n")] {
        let mut n = notification(locale, messages()[3].clone());
        n.name = String::new();
        let mail = t.render(&n).unwrap();
        assert!(mail.text.starts_with(greeting), "{}", mail.text);
    }
}

#[test]
fn html_escapes_user_text() {
    let t = templates();
    let script = "<script>alert(1)</script>";
    for locale in Locale::ALL {
        for message in messages() {
            let mut n = notification(locale, message);
            n.name = script.to_owned();
            let mail = t.render(&n).unwrap();
            assert!(!mail.html.contains("<script>"), "{}", mail.html);
            assert!(mail
                .html
                .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
            // The text body is not HTML: it shows the name as it is.
            assert!(mail.text.contains(script));
        }
    }
    let refused = Message::RefundRefused {
        order_no: ORDER_NO.to_owned(),
        reason: "<b>no</b> \"really\"".to_owned(),
    };
    let mail = t.render(&notification(Locale::En, refused)).unwrap();
    assert!(
        mail.html
            .contains("&lt;b&gt;no&lt;&#x2f;b&gt; &quot;really&quot;"),
        "{}",
        mail.html
    );
}

#[test]
fn subjects_are_one_line() {
    let mut t = templates();
    t.set_template(
        "en/order_shipped.subject",
        "Order {{ order_no }}\r\nBcc: x@y {{ name }}",
    )
    .unwrap();
    let mut n = notification(Locale::En, messages()[3].clone());
    n.name = "a\r\nb".to_owned();
    let mail = t.render(&n).unwrap();
    assert_eq!(mail.subject, "Order 202405010042 Bcc: x@y a b");
}

#[test]
fn token_mails_link_when_a_url_pattern_is_set() {
    let plain = templates();
    let linked = Templates::new(TemplateSettings {
        verify_email_url: Some("https://shop.example/verify?token={token}".to_owned()),
        reset_password_url: Some("https://shop.example/reset/{token}".to_owned()),
        ..TemplateSettings::default()
    })
    .unwrap();
    for locale in Locale::ALL {
        let verify = notification(locale, messages()[0].clone());
        let reset = notification(locale, messages()[1].clone());

        let without = plain.render(&verify).unwrap();
        assert!(!without.text.contains("http"), "{}", without.text);
        assert!(without.text.contains(TOKEN));
        let paste = if locale == Locale::En {
            "paste this code"
        } else {
            "粘贴"
        };
        assert!(
            without.text.to_lowercase().contains(paste),
            "{}",
            without.text
        );

        let with = linked.render(&verify).unwrap();
        let link = "https://shop.example/verify?token=tok_3Kf9%2Bx%2FQ%3D";
        assert!(with.text.contains(link), "{}", with.text);
        assert!(with.text.contains(TOKEN), "the code is still there");
        assert!(
            with.html
                .contains(&format!("href=\"{}\"", html_escaped(link))),
            "{}",
            with.html
        );

        let with = linked.render(&reset).unwrap();
        assert!(with
            .text
            .contains("https://shop.example/reset/tok_3Kf9%2Bx%2FQ%3D"));
    }
}

#[test]
fn a_custom_template_overrides_the_default() {
    let mut t = templates();
    let name = Templates::name_of(Locale::En, "order_shipped", MailPart::Text);
    assert_eq!(name, "en/order_shipped.txt");
    assert!(Templates::builtin_source(&name)
        .unwrap()
        .contains("{{ tracking_no }}"));
    t.set_template(
        &name,
        "Parcel {{ tracking_no }} via {{ carrier }} for {{ name }}.",
    )
    .unwrap();
    let mail = t
        .render(&notification(Locale::En, messages()[3].clone()))
        .unwrap();
    assert_eq!(mail.text, "Parcel SF1234567890 via 顺丰速运 for 李雷.");
    // The other parts and locales are untouched.
    assert_eq!(mail.subject, "Order 202405010042 has shipped");
    let zh = t
        .render(&notification(Locale::ZhCn, messages()[3].clone()))
        .unwrap();
    assert!(zh.text.contains("运单号：SF1234567890"));

    // The layout too, and a new piece it includes.
    t.set_template("brand.html", "<b>{{ shop_name }}</b>")
        .unwrap();
    t.set_template(
        "layout.html",
        "<html lang=\"{{ locale }}\">{% include \"brand.html\" %}{% block content %}{% endblock %}</html>",
    )
    .unwrap();
    let mail = t
        .render(&notification(Locale::En, messages()[3].clone()))
        .unwrap();
    assert!(
        mail.html.starts_with("<html lang=\"en\"><b>Tea House</b>"),
        "{}",
        mail.html
    );
    assert!(mail.html.contains("SF1234567890"));
}

#[test]
fn a_broken_template_is_refused_and_changes_nothing() {
    let mut t = templates();
    let n = notification(Locale::En, messages()[3].clone());
    let before = t.render(&n).unwrap();

    // Does not parse.
    let err = t
        .set_template(
            "en/order_shipped.html",
            "{% if carrier %}<p>{{ carrier }</p>",
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::Template { name, .. } if name == "en/order_shipped.html"),
        "{err}"
    );
    // Parses, but prints a variable the kind does not have.
    let err = t
        .set_template("en/order_shipped.txt", "{{ tracking_number }}")
        .unwrap_err();
    assert!(
        matches!(&err, Error::Template { name, .. } if name == "en/order_shipped.txt"),
        "{err}"
    );
    assert!(err.to_string().contains("en/order_shipped.txt"), "{err}");
    // Breaks every HTML mail through the layout.
    let err = t.set_template(
        "layout.html",
        "{{ no_such_variable }}{% block content %}{% endblock %}",
    );
    assert!(err.is_err());
    // An empty subject.
    let err = t
        .set_template("zh-CN/order_paid.subject", "{% if false %}x{% endif %}")
        .unwrap_err();
    assert!(err.to_string().contains("empty subject"), "{err}");

    assert_eq!(t.render(&n).unwrap(), before);
}

#[test]
fn settings_errors_name_the_setting() {
    for (settings, setting) in [
        (
            TemplateSettings {
                shop_name: String::new(),
                ..TemplateSettings::default()
            },
            "shop_name",
        ),
        (
            TemplateSettings {
                verify_email_url: Some("https://shop.example/verify".to_owned()),
                ..TemplateSettings::default()
            },
            "verify_email_url",
        ),
        (
            TemplateSettings {
                reset_password_url: Some("https://shop.example/r?t=\"{token}\"".to_owned()),
                ..TemplateSettings::default()
            },
            "reset_password_url",
        ),
    ] {
        let err = Templates::new(settings).unwrap_err();
        assert_eq!(err.setting(), Some(setting));
        assert!(err.to_string().contains(setting), "{err}");
    }
}

#[test]
fn a_template_error_is_a_permanent_shop_error() {
    let err = Templates::default()
        .set_template("en/order_paid.txt", "{{ nothing }}")
        .unwrap_err();
    let shop: shop_core::Error = err.into();
    assert!(!shop.is_retryable());
    assert!(matches!(
        shop,
        shop_core::Error::Store(shop_core::StoreError::Backend { .. })
    ));
}
