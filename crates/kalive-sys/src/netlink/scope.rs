//! Scope of an address or route (`scope global|site|link|host|nowhere|N`).

/// Address or route scope; the numbers are the kernel's `RT_SCOPE_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Scope {
    /// `global` / `universe` (0), keepalived's default for VIPs.
    #[default]
    Global,
    /// `site` (200).
    Site,
    /// `link` (253).
    Link,
    /// `host` (254).
    Host,
    /// `nowhere` (255).
    Nowhere,
    /// Any other number.
    Other(u8),
}

impl Scope {
    /// The kernel's number.
    pub fn to_u8(self) -> u8 {
        match self {
            Scope::Global => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
            Scope::Other(n) => n,
        }
    }

    /// From the kernel's number.
    pub fn from_u8(n: u8) -> Scope {
        match n {
            0 => Scope::Global,
            200 => Scope::Site,
            253 => Scope::Link,
            254 => Scope::Host,
            255 => Scope::Nowhere,
            n => Scope::Other(n),
        }
    }
}
