//! Virtual time: the engine never reads a clock, the caller passes `now`.

use std::ops::{Add, Sub};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time, as a [`Duration`] since an arbitrary origin chosen by the
/// caller (the daemon uses a monotonic clock; tests start at zero).
///
/// Serialized as whole microseconds so that recorded runs stay readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub Duration);

impl Timestamp {
    /// The origin.
    pub const ZERO: Timestamp = Timestamp(Duration::ZERO);

    /// `ms` milliseconds after the origin.
    pub fn from_millis(ms: u64) -> Self {
        Timestamp(Duration::from_millis(ms))
    }

    /// `secs` seconds after the origin.
    pub fn from_secs(secs: u64) -> Self {
        Timestamp(Duration::from_secs(secs))
    }

    /// `us` microseconds after the origin.
    pub fn from_micros(us: u64) -> Self {
        Timestamp(Duration::from_micros(us))
    }

    /// Time since the origin.
    pub fn since_origin(self) -> Duration {
        self.0
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, rhs: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(rhs))
    }
}

impl Sub<Timestamp> for Timestamp {
    type Output = Duration;
    fn sub(self, rhs: Timestamp) -> Duration {
        self.saturating_since(rhs)
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.6}s", self.0.as_secs_f64())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        duration_micros::serialize(&self.0, s)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        duration_micros::deserialize(d).map(Timestamp)
    }
}

/// Serde helper: a [`Duration`] as whole microseconds.
pub(crate) mod duration_micros {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_micros(u64::deserialize(d)?))
    }
}

/// Serde helper: an `Option<Duration>` as whole microseconds.
pub(crate) mod opt_duration_micros {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_micros))
    }
}
