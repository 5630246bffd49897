//! Maglev lookup table for the `mh` scheduler (Eisenbud et al., "Maglev: A
//! Fast and Reliable Software Network Load Balancer", NSDI 2016, §3.4),
//! computed here and rendered as an nftables map from a source-address
//! hash to a server. Weights work as in the kernel's `ip_vs_mh`: in each
//! round a server takes as many slots as its weight divided by the
//! weights' greatest common divisor.

/// Slots in the table: a prime, so every skip visits every slot. Small
/// enough for the map to stay a few kilobytes of JSON.
pub const MAGLEV_SIZE: usize = 251;

/// 64-bit FNV-1a with a seed mixed in first: stable across runs and
/// builds, which keeps the table (and so each client's server) the same
/// after a restart.
pub(crate) fn fnv1a(seed: u64, bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The table: `size` slots, each the index of a server in `servers`
/// (`(name, weight)`; names must be distinct). Servers with weight 0 get
/// no slot; with no weighted server the table is empty.
pub fn maglev_table(servers: &[(String, u32)], size: usize) -> Vec<usize> {
    let divisor = servers.iter().map(|(_, w)| *w).fold(0, gcd);
    if divisor == 0 || size < 2 {
        return Vec::new();
    }
    let size64 = size as u64;
    let perms: Vec<(u64, u64)> = servers
        .iter()
        .map(|(name, _)| {
            let offset = fnv1a(1, name.as_bytes()) % size64;
            let skip = fnv1a(2, name.as_bytes()) % (size64 - 1) + 1;
            (offset, skip)
        })
        .collect();
    let mut next = vec![0u64; servers.len()];
    let mut table: Vec<Option<usize>> = vec![None; size];
    let mut filled = 0;
    while filled < size {
        for (i, (_, weight)) in servers.iter().enumerate() {
            for _ in 0..weight / divisor {
                let (offset, skip) = perms[i];
                // Each permutation visits every slot within `size` steps,
                // so this finds a free one while any is free.
                loop {
                    let slot = ((offset + next[i] * skip) % size64) as usize;
                    next[i] += 1;
                    if table[slot].is_none() {
                        table[slot] = Some(i);
                        filled += 1;
                        break;
                    }
                }
                if filled == size {
                    break;
                }
            }
            if filled == size {
                break;
            }
        }
    }
    table.into_iter().map(|s| s.unwrap_or(0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers(ws: &[u32]) -> Vec<(String, u32)> {
        ws.iter()
            .enumerate()
            .map(|(i, w)| (format!("10.1.{i}.2:80"), *w))
            .collect()
    }

    fn shares(table: &[usize], n: usize) -> Vec<usize> {
        let mut c = vec![0; n];
        for s in table {
            c[*s] += 1;
        }
        c
    }

    #[test]
    fn equal_weights_share_the_table_evenly() {
        let t = maglev_table(&servers(&[1, 1, 1]), MAGLEV_SIZE);
        assert_eq!(t.len(), MAGLEV_SIZE);
        for c in shares(&t, 3) {
            assert!((83..=84).contains(&c), "{c}");
        }
    }

    #[test]
    fn weights_scale_the_shares() {
        let t = maglev_table(&servers(&[1, 2]), MAGLEV_SIZE);
        let c = shares(&t, 2);
        assert!((c[1] as i64 - 2 * c[0] as i64).abs() <= 3, "{c:?}");
    }

    #[test]
    fn removing_a_server_moves_only_its_slots_mostly() {
        let a = maglev_table(&servers(&[1, 1, 1, 1]), MAGLEV_SIZE);
        let b = maglev_table(&servers(&[1, 1, 1, 1])[..3], MAGLEV_SIZE);
        let moved = a.iter().zip(&b).filter(|(x, y)| **x != 3 && x != y).count();
        // Maglev promises minimal disruption, not zero.
        assert!(moved < MAGLEV_SIZE / 10, "{moved} slots of survivors moved");
    }

    #[test]
    fn zero_weights_get_nothing_and_all_zero_is_empty() {
        let t = maglev_table(&servers(&[0, 1]), MAGLEV_SIZE);
        assert!(t.iter().all(|s| *s == 1));
        assert!(maglev_table(&servers(&[0, 0]), MAGLEV_SIZE).is_empty());
    }
}
