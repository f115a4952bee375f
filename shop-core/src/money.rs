//! Exact money: a [`Decimal`] amount with a [`Currency`].
//!
//! Arithmetic across currencies is an error, never a silent conversion.
//! Rounding is half-up ("round half away from zero") to the currency's minor
//! unit and happens only where a rule names it ([`Money::round`]).
//!
//! Every amount carries at least its currency's minor digits (`19.90`, not
//! `19.9`; `5.00`, not `5`), whatever a backend's column returns, so an
//! amount reads the same from every backend ([`with_scale`]).

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// ISO 4217 currencies the shop prices in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "UPPERCASE")]
#[non_exhaustive]
pub enum Currency {
    /// Chinese yuan (2 decimals).
    Cny,
    /// US dollar (2 decimals).
    Usd,
    /// Euro (2 decimals).
    Eur,
    /// Japanese yen (no decimals).
    Jpy,
}

impl Currency {
    /// Number of decimals of the minor unit (2 for fen/cents).
    pub fn minor_digits(self) -> u32 {
        match self {
            Currency::Jpy => 0,
            Currency::Cny | Currency::Usd | Currency::Eur => 2,
        }
    }

    /// The ISO code, e.g. `"CNY"`.
    pub fn code(self) -> &'static str {
        match self {
            Currency::Cny => "CNY",
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
            Currency::Jpy => "JPY",
        }
    }

    /// The smallest positive amount, e.g. 0.01 for CNY.
    pub fn minor_unit(self) -> Decimal {
        Decimal::new(1, self.minor_digits())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "CNY" => Ok(Currency::Cny),
            "USD" => Ok(Currency::Usd),
            "EUR" => Ok(Currency::Eur),
            "JPY" => Ok(Currency::Jpy),
            _ => Err(MoneyError::UnknownCurrency(s.to_owned())),
        }
    }
}

/// Errors of money arithmetic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// Two amounts in different currencies were combined.
    #[error("currency mismatch: {left} vs {right}")]
    CurrencyMismatch {
        /// Left operand's currency.
        left: Currency,
        /// Right operand's currency.
        right: Currency,
    },
    /// The result does not fit a decimal.
    #[error("amount overflow")]
    Overflow,
    /// A currency code we do not know.
    #[error("unknown currency {0}")]
    UnknownCurrency(String),
    /// Text that is not a plain decimal number (`19.90`, `-3`).
    #[error("not an amount: {0:?} (write it like \"19.90\")")]
    NotAnAmount(String),
}

/// Reads a plain decimal number: an optional `-`, digits, and optionally a
/// `.` and more digits (`19.90`, `5`, `-0.5`). No `+`, exponent, spaces or
/// thousands separators, so what is written is what is stored.
pub fn parse_decimal(text: &str) -> Result<Decimal, MoneyError> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match digits.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    let plain = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    if !plain {
        return Err(MoneyError::NotAnAmount(text.chars().take(40).collect()));
    }
    Decimal::from_str_exact(text).map_err(|_| MoneyError::Overflow)
}

/// `d` without trailing zeros beyond `scale` decimals, and padded to at
/// least `scale` decimals: `with_scale(4, 2)` is `4.00`,
/// `with_scale(4.5000, 2)` is `4.50`, `with_scale(1.005, 2)` stays `1.005`
/// (never rounds). The one canonical form of a decimal leaving the library.
pub fn with_scale(d: Decimal, scale: u32) -> Decimal {
    let mut d = d.normalize();
    if d.scale() < scale {
        d.rescale(scale);
    }
    d
}

/// The largest price, coupon value or minimum a shop takes:
/// 999,999,999.99 in any currency. Every backend's money column holds an
/// order of the most lines at the most units at this price.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(1_215_752_191, 23, 0, false, 2);

/// A JSON-Schema (ECMA-262) pattern of the amounts a shop in `currency`
/// takes as decimal strings: at most [`MAX_AMOUNT`], no more decimals than
/// the minor unit, greater than zero when `positive`.
pub fn amount_pattern(currency: Currency, positive: bool) -> String {
    let decimals = match currency.minor_digits() {
        0 => String::new(),
        n => format!(r"(\.[0-9]{{1,{n}}})?"),
    };
    match (positive, currency.minor_digits()) {
        (false, _) => format!("^(0|[1-9][0-9]{{0,8}}){decimals}$"),
        (true, 0) => "^[1-9][0-9]{0,8}$".to_owned(),
        (true, n) => {
            // 0.01 … 0.99 (for two decimals), or a whole part from 1.
            let fraction = if n == 1 {
                "0\\.[1-9]".to_owned()
            } else {
                format!(
                    r"0\.(0{{1,{}}}[1-9][0-9]{{0,{}}}|[1-9][0-9]{{0,{}}})",
                    n - 1,
                    n - 2,
                    n - 1
                )
            };
            format!("^([1-9][0-9]{{0,8}}{decimals}|{fraction})$")
        }
    }
}

/// An exact amount of money in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(from = "MoneyFields")]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

/// What a serialized [`Money`] holds; read through [`Money::new`].
#[derive(Deserialize)]
struct MoneyFields {
    amount: Decimal,
    currency: Currency,
}

impl From<MoneyFields> for Money {
    fn from(f: MoneyFields) -> Self {
        Money::new(f.amount, f.currency)
    }
}

impl Money {
    /// An amount as given (not rounded), in canonical form: at least the
    /// currency's minor digits, no trailing zeros beyond them
    /// ([`with_scale`]).
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Money {
            amount: with_scale(amount, currency.minor_digits()),
            currency,
        }
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Money::new(Decimal::ZERO, currency)
    }

    /// Parses a plain decimal string such as `"12.50"` ([`parse_decimal`]).
    pub fn parse(amount: &str, currency: Currency) -> Result<Self, MoneyError> {
        Ok(Money::new(parse_decimal(amount)?, currency))
    }

    /// The decimal amount.
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Whether the amount is exactly zero.
    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    /// Whether the amount is greater than zero.
    pub fn is_positive(&self) -> bool {
        self.amount > Decimal::ZERO
    }

    /// Whether the amount has no more decimals than the minor unit allows.
    pub fn is_whole_minor_units(&self) -> bool {
        self.amount.normalize().scale() <= self.currency.minor_digits()
    }

    /// Rounds half-up (away from zero) to the currency's minor unit.
    pub fn round(self) -> Self {
        let amount = self.amount.round_dp_with_strategy(
            self.currency.minor_digits(),
            RoundingStrategy::MidpointAwayFromZero,
        );
        Money::new(amount, self.currency)
    }

    /// Truncates toward zero to the currency's minor unit.
    pub fn truncate(self) -> Self {
        let amount = self
            .amount
            .round_dp_with_strategy(self.currency.minor_digits(), RoundingStrategy::ToZero);
        Money::new(amount, self.currency)
    }

    /// The amount as a whole number of minor units (fen, cents; yen), for
    /// storage that sums integers exactly; `None` when it has finer
    /// decimals or does not fit an `i64`.
    pub fn minor_units(&self) -> Option<i64> {
        if !self.is_whole_minor_units() {
            return None;
        }
        let scaled = self
            .amount
            .checked_mul(Decimal::from(10i64.pow(self.currency.minor_digits())))?;
        i64::try_from(scaled.trunc()).ok()
    }

    /// An amount of `units` minor units of `currency` (the inverse of
    /// [`Money::minor_units`]).
    pub fn from_minor_units(units: i64, currency: Currency) -> Money {
        Money::new(Decimal::new(units, currency.minor_digits()), currency)
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    /// `self + other`; an error across currencies.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// `self - other`; an error across currencies.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        let amount = self
            .amount
            .checked_sub(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// `self × factor` (not rounded).
    pub fn checked_mul(self, factor: Decimal) -> Result<Money, MoneyError> {
        let amount = self
            .amount
            .checked_mul(factor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// `self × quantity`.
    pub fn times(self, quantity: u32) -> Result<Money, MoneyError> {
        self.checked_mul(Decimal::from(quantity))
    }

    /// Compares two amounts of the same currency.
    pub fn checked_cmp(&self, other: &Money) -> Result<std::cmp::Ordering, MoneyError> {
        self.same_currency(other)?;
        Ok(self.amount.cmp(&other.amount))
    }

    /// Sums amounts, all in `currency`.
    pub fn sum<I: IntoIterator<Item = Money>>(
        currency: Currency,
        items: I,
    ) -> Result<Money, MoneyError> {
        items
            .into_iter()
            .try_fold(Money::zero(currency), Money::checked_add)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn rounds_half_up_to_minor_unit() {
        assert_eq!(
            Money::new(dec!(1.005), Currency::Cny).round().amount(),
            dec!(1.01)
        );
        assert_eq!(
            Money::new(dec!(1.004), Currency::Cny).round().amount(),
            dec!(1.00)
        );
        assert_eq!(
            Money::new(dec!(2.5), Currency::Jpy).round().amount(),
            dec!(3)
        );
        assert_eq!(
            Money::new(dec!(1.009), Currency::Usd).truncate().amount(),
            dec!(1.00)
        );
    }

    #[test]
    fn cross_currency_arithmetic_is_an_error() {
        let a = Money::new(dec!(1), Currency::Cny);
        let b = Money::new(dec!(1), Currency::Usd);
        assert_eq!(
            a.checked_add(b),
            Err(MoneyError::CurrencyMismatch {
                left: Currency::Cny,
                right: Currency::Usd
            })
        );
        assert!(a.checked_sub(b).is_err());
        assert!(a.checked_cmp(&b).is_err());
        assert!(Money::sum(Currency::Cny, [a, b]).is_err());
    }

    #[test]
    fn whole_minor_units() {
        assert!(Money::new(dec!(1.10), Currency::Cny).is_whole_minor_units());
        assert!(Money::new(dec!(1.100), Currency::Cny).is_whole_minor_units());
        assert!(!Money::new(dec!(1.001), Currency::Cny).is_whole_minor_units());
        assert!(!Money::new(dec!(1.5), Currency::Jpy).is_whole_minor_units());
    }

    #[test]
    fn amounts_carry_the_minor_digits() {
        let scale = |s: &str, c| Money::parse(s, c).unwrap().amount().to_string();
        assert_eq!(scale("4", Currency::Cny), "4.00");
        assert_eq!(scale("19.9", Currency::Cny), "19.90");
        assert_eq!(scale("19.9000", Currency::Cny), "19.90");
        assert_eq!(scale("1.005", Currency::Cny), "1.005");
        assert_eq!(scale("0", Currency::Usd), "0.00");
        assert_eq!(scale("300.0", Currency::Jpy), "300");
        let read: Money = serde_json::from_str(r#"{"amount":"5","currency":"CNY"}"#).unwrap();
        assert_eq!(read.amount().to_string(), "5.00");
        assert_eq!(with_scale(dec!(4.5000), 2).to_string(), "4.50");
    }

    #[test]
    fn only_plain_decimals_are_amounts() {
        for ok in ["0", "19.90", "-3", "0.5", "999999999.99"] {
            assert!(parse_decimal(ok).is_ok(), "{ok}");
        }
        for bad in [
            "1e3", "+5", " 5", "5 ", "1,000", ".5", "5.", "", "-", "0x10", "NaN", "1_0",
        ] {
            assert!(
                matches!(parse_decimal(bad), Err(MoneyError::NotAnAmount(_))),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_decimal("99999999999999999999999999999999"),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn the_largest_amount() {
        assert_eq!(MAX_AMOUNT.to_string(), "999999999.99");
        assert_eq!(
            amount_pattern(Currency::Cny, false),
            r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,2})?$"
        );
        assert_eq!(
            amount_pattern(Currency::Cny, true),
            r"^([1-9][0-9]{0,8}(\.[0-9]{1,2})?|0\.(0{1,1}[1-9][0-9]{0,0}|[1-9][0-9]{0,1}))$"
        );
        assert_eq!(amount_pattern(Currency::Jpy, true), "^[1-9][0-9]{0,8}$");
    }

    #[test]
    fn parses_currency_codes() {
        assert_eq!("cny".parse::<Currency>(), Ok(Currency::Cny));
        assert!("XXX".parse::<Currency>().is_err());
    }
}
