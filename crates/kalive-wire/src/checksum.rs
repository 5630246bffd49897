//! RFC 1071 Internet checksum helpers and the pseudo-headers VRRPv3 and
//! ICMPv6 use (RFC 5798 §5.2.8, RFC 8200 §8.1).
//!
//! As in smoltcp, [`data`] and [`pseudo_header`] return the *uncomplemented*
//! folded ones'-complement sum; [`combine`] adds partial sums; the value
//! written on the wire is `!combine(&[...])`. A received message verifies when
//! `combine(&[pseudo, data(msg)]) == 0xffff`.

use std::net::IpAddr;

/// Folds a 32-bit accumulator into 16 bits with end-around carry.
fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// Ones'-complement sum of `data` as big-endian 16-bit words (an odd last
/// byte is padded with zero), folded to 16 bits, not complemented.
pub fn data(data: &[u8]) -> u16 {
    let mut chunks = data.chunks_exact(2);
    let mut sum: u32 = 0;
    for pair in &mut chunks {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
        // Fold early so a long buffer cannot overflow the accumulator.
        if sum > 0xffff_0000 {
            sum = u32::from(fold(sum));
        }
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    fold(sum)
}

/// Ones'-complement sum of several partial sums.
pub fn combine(parts: &[u16]) -> u16 {
    fold(parts.iter().map(|&p| u32::from(p)).sum())
}

/// Sum of the pseudo-header {src, dst, zero, protocol, length} for IPv4
/// (RFC 768 style) or IPv6 (RFC 8200 §8.1). Mixed families sum both
/// addresses as given; callers keep them consistent.
pub fn pseudo_header(src: &IpAddr, dst: &IpAddr, protocol: u8, length: u32) -> u16 {
    let mut parts = [address_sum(src), address_sum(dst), 0, 0, 0];
    match src {
        IpAddr::V4(_) => {
            // IPv4: 16-bit length, zero byte + protocol byte.
            parts[2] = u16::from(protocol);
            parts[3] = length as u16;
        }
        IpAddr::V6(_) => {
            // IPv6: 32-bit length, 3 zero bytes + next header.
            parts[2] = (length >> 16) as u16;
            parts[3] = length as u16;
            parts[4] = u16::from(protocol);
        }
    }
    combine(&parts)
}

fn address_sum(addr: &IpAddr) -> u16 {
    match addr {
        IpAddr::V4(a) => data(&a.octets()),
        IpAddr::V6(a) => data(&a.octets()),
    }
}

/// The checksum field value for `message` (whose checksum field is zero)
/// with an optional pseudo-header sum.
pub fn compute(pseudo: Option<u16>, message: &[u8]) -> u16 {
    !combine(&[pseudo.unwrap_or(0), data(message)])
}

/// True when `message` (checksum field included) verifies.
pub fn verify(pseudo: Option<u16>, message: &[u8]) -> bool {
    combine(&[pseudo.unwrap_or(0), data(message)]) == 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3 numerical example: 0001 f203 f4f5 f6f7 sums to ddf2.
        assert_eq!(
            data(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(data(&[0x12, 0x34, 0x56]), 0x6834);
    }

    #[test]
    fn long_buffer_does_not_overflow() {
        let buf = vec![0xffu8; 200_000];
        assert_eq!(data(&buf), 0xffff);
    }
}
