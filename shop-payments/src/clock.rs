//! Time, from `shop_core`'s [`Clock`] port: every timestamp check of every
//! gateway asks an injected clock, so tests move time by hand
//! ([`ManualClock`]) and nothing reads the system time behind their back.

use chrono::{DateTime, Duration, Utc};
pub use shop_core::clock::{Clock, ManualClock, SystemClock};
use shop_core::payment::PaymentError;

/// How far a signed timestamp may be from now, either way, for a
/// notification to be accepted. Outside it the notification is
/// [`PaymentError::Replayed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampWindow {
    tolerance: Duration,
}

impl TimestampWindow {
    /// Five minutes, Stripe's default tolerance.
    pub const DEFAULT: TimestampWindow = TimestampWindow {
        tolerance: Duration::seconds(300),
    };

    /// A window of `tolerance` either side of now (negative counts as zero).
    pub fn new(tolerance: Duration) -> Self {
        TimestampWindow {
            tolerance: tolerance.max(Duration::zero()),
        }
    }

    /// The tolerance.
    pub fn tolerance(&self) -> Duration {
        self.tolerance
    }

    /// Accepts `unix_seconds` when it is at most the tolerance away from `now`.
    pub fn check(&self, now: DateTime<Utc>, unix_seconds: i64) -> Result<(), PaymentError> {
        let age = i128::from(now.timestamp()) - i128::from(unix_seconds);
        if age.abs() <= i128::from(self.tolerance.num_seconds()) {
            Ok(())
        } else {
            Err(PaymentError::Replayed)
        }
    }
}

/// Unix seconds written as ASCII digits (an optional leading `-`).
pub(crate) fn parse_unix_seconds(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Default for TimestampWindow {
    fn default() -> Self {
        TimestampWindow::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_edges_and_refuses_one_second_beyond() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let w = TimestampWindow::DEFAULT;
        let t = now.timestamp();
        assert!(w.check(now, t).is_ok());
        assert!(w.check(now, t - 300).is_ok());
        assert!(w.check(now, t + 300).is_ok());
        assert!(matches!(w.check(now, t - 301), Err(PaymentError::Replayed)));
        assert!(matches!(w.check(now, t + 301), Err(PaymentError::Replayed)));
        assert!(w.check(now, i64::MIN).is_err());
        assert!(w.check(now, i64::MAX).is_err());
        let strict = TimestampWindow::new(Duration::seconds(-5));
        assert_eq!(strict.tolerance(), Duration::zero());
        assert!(strict.check(now, t).is_ok());
        assert!(strict.check(now, t - 1).is_err());
    }
}
