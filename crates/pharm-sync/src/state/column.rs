//! One replica's counter cells, `[p, n, last_seq]` by lot slot: sparse (a hash map) while
//! the replica has touched few of the store's lots, as a terminal does in a day, and dense
//! (a vector indexed by slot) once it has touched many, as the back office has. A new
//! replica therefore costs memory for what it touched, not for the whole catalog, and a
//! full-state merge of a dense column is still a sequential element-wise maximum.
//!
//! Copies of a column share its cells until one of them writes (copy on write): a copy of
//! a state does not copy the columns of replicas it never changes.

use std::sync::Arc;

use super::Map;
use crate::ids::ReplicaId;

/// A cell: units added, units removed, sequence number of the last change.
pub(super) type Cell3 = [u64; 3];

#[derive(Debug, Clone)]
enum Cells {
    Sparse(Map<u32, Cell3>),
    Dense(Vec<Cell3>),
}

/// One replica's cells.
#[derive(Debug, Clone)]
pub(super) struct Column {
    pub(super) replica: ReplicaId,
    cells: Arc<Cells>,
}

impl Column {
    /// An empty (sparse) column.
    pub(super) fn new(replica: ReplicaId) -> Self {
        Column {
            replica,
            cells: Arc::new(Cells::Sparse(Map::default())),
        }
    }

    /// The cell of a slot, if one was ever written.
    pub(super) fn get(&self, slot: usize) -> Option<&Cell3> {
        match &*self.cells {
            Cells::Sparse(m) => u32::try_from(slot).ok().and_then(|s| m.get(&s)),
            Cells::Dense(v) => v.get(slot),
        }
    }

    /// The cell of a slot for writing (zero if new). A sparse column turns dense when it
    /// holds cells for more than half of the store's `slots`.
    pub(super) fn get_mut(&mut self, slot: usize, slots: usize) -> &mut Cell3 {
        if let Cells::Sparse(m) = &*self.cells
            && m.len() * 2 > slots
        {
            let mut dense = vec![[0; 3]; slots.max(slot + 1)];
            for (s, c) in m {
                dense[*s as usize] = *c;
            }
            self.cells = Arc::new(Cells::Dense(dense));
        }
        match Arc::make_mut(&mut self.cells) {
            Cells::Sparse(m) => m.entry(slot as u32).or_insert([0; 3]),
            Cells::Dense(v) => {
                if v.len() <= slot {
                    v.resize(slot + 1, [0; 3]);
                }
                &mut v[slot]
            }
        }
    }

    /// Every non-zero cell with its slot (in slot order when dense, in no order when sparse).
    pub(super) fn iter(&self) -> Box<dyn Iterator<Item = (usize, &Cell3)> + '_> {
        match &*self.cells {
            Cells::Sparse(m) => Box::new(
                m.iter()
                    .filter(|(_, c)| **c != [0; 3])
                    .map(|(s, c)| (*s as usize, c)),
            ),
            Cells::Dense(v) => Box::new(v.iter().enumerate().filter(|(_, c)| **c != [0; 3])),
        }
    }

    /// The dense cells, when this column is dense.
    pub(super) fn dense(&self) -> Option<&[Cell3]> {
        match &*self.cells {
            Cells::Dense(v) => Some(v),
            Cells::Sparse(_) => None,
        }
    }
}
