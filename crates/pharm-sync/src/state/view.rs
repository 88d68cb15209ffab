//! An owned, serializable view of a store's inventory: what a POS, a report or a binding
//! shows, without the CRDT bookkeeping (cells, heads, deltas).

use pharm_core::ids::PharmacyId;
use serde::{Deserialize, Serialize};

use super::{InventoryState, VersionVector};
use crate::txn::{HoldId, LotInfo};

/// A store's inventory as one replica sees it ([`InventoryState::view`]): every lot with its
/// facts, its value, its active holds and its shelf location, in lot order. Two replicas
/// with the same version vector have the same view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryView {
    /// The store.
    pub store: PharmacyId,
    /// The transactions the view includes.
    pub vv: VersionVector,
    /// Every lot known, in lot-key order.
    pub lots: Vec<LotView>,
}

/// One lot of an [`InventoryView`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LotView {
    /// Facts fixed at receipt.
    pub info: LotInfo,
    /// Units on hand (negative after an offline oversell, until reconciled).
    pub value: i64,
    /// Active holds (recall, quarantine) on the lot, in hold-id order: a held lot is not
    /// dispensed.
    pub holds: Vec<HoldView>,
    /// Shelf location, if one was set.
    pub location: Option<String>,
}

/// An active hold of a [`LotView`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldView {
    /// The hold (the id of the transaction that placed it).
    pub id: HoldId,
    /// Why (the recall or quarantine reference).
    pub reference: String,
}

impl InventoryState {
    /// The owned view of this state's inventory (see [`InventoryView`]).
    pub fn view(&self) -> InventoryView {
        let mut lots: Vec<LotView> = self
            .lots()
            .map(|(info, value)| LotView {
                info: info.clone(),
                value,
                holds: Vec::new(),
                location: self.meta(&info.key).map(|m| m.value.clone()),
            })
            .collect();
        lots.sort_by_key(|l| l.info.key);
        for (id, lot, reference) in self.active_holds() {
            if let Ok(i) = lots.binary_search_by_key(lot, |l| l.info.key) {
                lots[i].holds.push(HoldView {
                    id: *id,
                    reference: reference.to_string(),
                });
            }
        }
        InventoryView {
            store: self.store(),
            vv: self.vv().clone(),
            lots,
        }
    }
}
