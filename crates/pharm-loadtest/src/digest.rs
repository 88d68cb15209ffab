//! A digest of the final state: SHA-256 over every terminal replica's value of every lot,
//! pharmacies in index order. Two runs with the same seed and sizes print the same digest.

use sha2::{Digest, Sha256};

use crate::pharmacy::Pharmacy;

/// The hex SHA-256 of the pharmacies' inventory views (sorted by index first).
pub fn state_digest<'a>(pharmacies: impl IntoIterator<Item = &'a Pharmacy>) -> String {
    let mut all: Vec<&Pharmacy> = pharmacies.into_iter().collect();
    all.sort_by_key(|p| p.index);
    let mut h = Sha256::new();
    for p in all {
        h.update(p.index.to_le_bytes());
        for (t, replica) in p.terminals().iter().enumerate() {
            h.update((t as u64).to_le_bytes());
            for dense in 0..p.lot_count() {
                let value = replica.state().value(&Pharmacy::lot_key(dense as u32));
                h.update(value.to_le_bytes());
            }
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
