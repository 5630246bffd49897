//! `auth_type AH` (reference §1.9): VRRPv2 inside an IPsec
//! Authentication Header (RFC 2402 layout), as keepalived exchanges it.
//! Pure functions: the actor seals adverts before they leave and opens
//! received ones before the engine sees them.
//!
//! What keepalived puts on the wire (vrrp.c, read for the facts):
//! - AH: next header 112, payload length 4 (24 bytes), reserved 0, SPI =
//!   the sender's IPv4 source address, a sequence number, and 12 bytes of
//!   ICV;
//! - ICV = HMAC-MD5 (RFC 2104) truncated to 96 bits, keyed with the 8-byte
//!   `auth_pass` field (zero padded), over the IPv4 header with TOS,
//!   fragment field and checksum zeroed (and TTL too in unicast), then the
//!   AH header with its ICV zeroed, then the VRRP message;
//! - the sequence number counts up per instance; a receiver drops one not
//!   above the highest it has seen (anti-replay), and a new master goes on
//!   from the highest it saw, so the count continues across masters.

/// Bytes of the AH header keepalived sends.
pub const AH_LEN: usize = 24;
/// RFC 2402 §2.2: AH length in 32-bit words minus 2.
const AH_PAYLOAD_LEN: u8 = (AH_LEN / 4 - 2) as u8;
const ICV_LEN: usize = 12;
const IPPROTO_VRRP: u8 = 112;

/// Why a received AH packet is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AhDrop {
    /// Too short, or IP options (the ICV would cover them).
    Malformed,
    /// AH around something other than VRRP.
    NotVrrp,
    /// The ICV does not match: another password or a mangled packet.
    BadIcv,
    /// SPI is not the source address.
    BadSpi,
}

/// The IPv4 header as the ICV covers it: mutable fields zeroed.
fn icv_header(ip: &[u8; 20], unicast: bool) -> [u8; 20] {
    let mut h = *ip;
    h[1] = 0; // TOS
    h[6] = 0; // flags + fragment offset
    h[7] = 0;
    h[10] = 0; // checksum
    h[11] = 0;
    if unicast {
        h[8] = 0; // TTL
    }
    h
}

/// AH + VRRP for an advert leaving with IPv4 header `ip` (its total length
/// already counting the AH header).
pub fn seal(ip: &[u8; 20], vrrp: &[u8], key: &[u8; 8], seq: u32, unicast: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(AH_LEN + vrrp.len());
    out.push(IPPROTO_VRRP);
    out.push(AH_PAYLOAD_LEN);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&ip[12..16]); // SPI: our source address
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&[0u8; ICV_LEN]);
    out.extend_from_slice(vrrp);
    let icv = hmac_md5(key, &[&icv_header(ip, unicast), &out]);
    out[12..AH_LEN].copy_from_slice(&icv[..ICV_LEN]);
    out
}

/// Check a received AH packet (`ip`: its IPv4 header, `payload`: AH and
/// VRRP); the sequence number and the VRRP message if it is genuine.
pub fn open<'a>(
    ip: &[u8; 20],
    payload: &'a [u8],
    key: &[u8; 8],
    unicast: bool,
) -> Result<(u32, &'a [u8]), AhDrop> {
    if ip[0] != 0x45 || payload.len() < AH_LEN {
        return Err(AhDrop::Malformed);
    }
    if payload[0] != IPPROTO_VRRP {
        return Err(AhDrop::NotVrrp);
    }
    let mut zeroed = payload.to_vec();
    zeroed[12..AH_LEN].fill(0);
    let icv = hmac_md5(key, &[&icv_header(ip, unicast), &zeroed]);
    if !constant_time_eq(&icv[..ICV_LEN], &payload[12..AH_LEN]) {
        return Err(AhDrop::BadIcv);
    }
    if payload[4..8] != ip[12..16] {
        return Err(AhDrop::BadSpi);
    }
    let seq = u32::from_be_bytes([payload[8], payload[9], payload[10], payload[11]]);
    Ok((seq, &payload[AH_LEN..]))
}

/// The IPv4 header a received packet came with, rebuilt from what the
/// socket reports (only the fields the ICV covers matter).
pub fn received_header(
    total_len: usize,
    id: u16,
    ttl: u8,
    src: std::net::Ipv4Addr,
    dst: std::net::Ipv4Addr,
) -> Option<[u8; 20]> {
    let mut h = [0u8; 20];
    h[0] = 0x45;
    h[2..4].copy_from_slice(&u16::try_from(total_len).ok()?.to_be_bytes());
    h[4..6].copy_from_slice(&id.to_be_bytes());
    h[8] = ttl;
    h[9] = 51;
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
    Some(h)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// HMAC-MD5 (RFC 2104) of the concatenation of `parts`.
fn hmac_md5(key: &[u8; 8], parts: &[&[u8]]) -> [u8; 16] {
    let mut padded = [0u8; 64];
    padded[..key.len()].copy_from_slice(key);
    let mut inner = Md5::new();
    inner.update(&padded.map(|b| b ^ 0x36));
    for p in parts {
        inner.update(p);
    }
    let inner = inner.finish();
    let mut outer = Md5::new();
    outer.update(&padded.map(|b| b ^ 0x5c));
    outer.update(&inner);
    outer.finish()
}

/// MD5 (RFC 1321), streaming.
struct Md5 {
    state: [u32; 4],
    buffer: Vec<u8>,
    length: u64,
}

/// Per-round shift amounts (RFC 1321 §3.4).
const SHIFTS: [u32; 64] = [
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9,
    14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15,
    21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
];

impl Md5 {
    fn new() -> Md5 {
        Md5 {
            state: [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476],
            buffer: Vec::with_capacity(64),
            length: 0,
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.length = self.length.wrapping_add(data.len() as u64);
        while !data.is_empty() {
            let take = (64 - self.buffer.len()).min(data.len());
            self.buffer.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buffer.len() == 64 {
                let block: [u8; 64] = std::array::from_fn(|i| self.buffer[i]);
                self.compress(&block);
                self.buffer.clear();
            }
        }
    }

    fn finish(mut self) -> [u8; 16] {
        let bits = self.length.wrapping_mul(8);
        let mut pad = vec![0x80u8];
        let used = (self.buffer.len() + 1) % 64;
        pad.resize(1 + (if used <= 56 { 56 - used } else { 120 - used }), 0);
        pad.extend_from_slice(&bits.to_le_bytes());
        let length = self.length;
        self.update(&pad);
        self.length = length;
        let mut out = [0u8; 16];
        for (i, word) in self.state.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&word.to_le_bytes());
        }
        out
    }

    fn compress(&mut self, block: &[u8; 64]) {
        let m: [u32; 16] = std::array::from_fn(|i| {
            u32::from_le_bytes([
                block[i * 4],
                block[i * 4 + 1],
                block[i * 4 + 2],
                block[i * 4 + 3],
            ])
        });
        let [mut a, mut b, mut c, mut d] = self.state;
        for (i, shift) in SHIFTS.iter().enumerate() {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            // K[i] = floor(|sin(i + 1)| × 2^32) (RFC 1321 §3.4).
            let k = ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32;
            let rotated = a
                .wrapping_add(f)
                .wrapping_add(k)
                .wrapping_add(m[g])
                .rotate_left(*shift);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(rotated);
        }
        self.state[0] = self.state[0].wrapping_add(a);
        self.state[1] = self.state[1].wrapping_add(b);
        self.state[2] = self.state[2].wrapping_add(c);
        self.state[3] = self.state[3].wrapping_add(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn md5(data: &[u8]) -> String {
        let mut m = Md5::new();
        m.update(data);
        hex(&m.finish())
    }

    #[test]
    fn md5_rfc_1321_vectors() {
        assert_eq!(md5(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            md5(
                b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"
            ),
            "57edf4a22be3c955ac49da2e2107b67a"
        );
        assert_eq!(md5(&[b'a'; 56]), "3b0c8ac703f828b04c6c197006d17218");
    }

    #[test]
    fn hmac_md5_rfc_2104_vector() {
        // RFC 2104 test 2 uses a 4-byte key; ours is that key zero padded
        // to 8 bytes, which HMAC pads to the same block.
        let mut key = [0u8; 8];
        key[..4].copy_from_slice(b"Jefe");
        assert_eq!(
            hex(&hmac_md5(&key, &[b"what do ya want ", b"for nothing?"])),
            "750c783e6ab0b503eaa86e310a5db738"
        );
    }

    #[test]
    fn sealed_adverts_open_and_tampering_is_caught() {
        let src = std::net::Ipv4Addr::new(10, 0, 0, 1);
        let dst = std::net::Ipv4Addr::new(224, 0, 0, 18);
        let vrrp = [
            0x21, 42, 150, 1, 2, 1, 0, 0, 10, 0, 0, 254, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let mut ip = received_header(20 + AH_LEN + vrrp.len(), 7, 255, src, dst).expect("hdr");
        ip[1] = 0xc0; // TOS and checksum as sent: not covered
        ip[10] = 0x12;
        let key = *b"secret\0\0";
        let sealed = seal(&ip, &vrrp, &key, 5, false);
        assert_eq!(sealed.len(), AH_LEN + vrrp.len());
        assert_eq!(&sealed[..4], &[112, 4, 0, 0]);
        assert_eq!(&sealed[4..8], &src.octets());
        let rx = received_header(20 + AH_LEN + vrrp.len(), 7, 255, src, dst).expect("hdr");
        assert_eq!(open(&rx, &sealed, &key, false), Ok((5, &vrrp[..])));
        assert_eq!(
            open(&rx, &sealed, b"other\0\0\0", false),
            Err(AhDrop::BadIcv)
        );
        let mut mangled = sealed.clone();
        mangled[AH_LEN + 2] = 200; // priority
        assert_eq!(open(&rx, &mangled, &key, false), Err(AhDrop::BadIcv));
        let other_id = received_header(20 + AH_LEN + vrrp.len(), 8, 255, src, dst).expect("h");
        assert_eq!(open(&other_id, &sealed, &key, false), Err(AhDrop::BadIcv));
        // TTL is covered in multicast, not in unicast.
        let hop = received_header(20 + AH_LEN + vrrp.len(), 7, 254, src, dst).expect("h");
        assert_eq!(open(&hop, &sealed, &key, false), Err(AhDrop::BadIcv));
        let uni = seal(&ip, &vrrp, &key, 6, true);
        assert!(open(&hop, &uni, &key, true).is_ok());
        assert_eq!(
            open(&rx, &sealed[..10], &key, false),
            Err(AhDrop::Malformed)
        );
    }
}
