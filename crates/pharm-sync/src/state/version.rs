//! Version vectors: the highest contiguous sequence number held per replica.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use crate::ids::ReplicaId;

/// A version vector: for each replica, the highest sequence number of its transactions
/// held (contiguously, from 1). A replica that is absent is at 0; no entry is ever 0.
///
/// Its JSON form is a list of entries in replica order, each `{"replica": "T<terminal>.<incarnation>", "seq": n}`:
///
/// ```
/// use pharm_sync::ids::ReplicaId;
/// use pharm_sync::state::VersionVector;
///
/// let vv: VersionVector = [(ReplicaId::new(3, 7), 5), (ReplicaId::new(0, 0), 17)].into_iter().collect();
/// let json = serde_json::to_string(&vv)?;
/// assert_eq!(json, r#"[{"replica":"T0.0","seq":17},{"replica":"T3.7","seq":5}]"#);
/// assert_eq!(serde_json::from_str::<VersionVector>(&json)?, vv);
/// // Entries out of order, repeated or at 0 are refused, never guessed.
/// assert!(serde_json::from_str::<VersionVector>(r#"[{"replica":"T3.7","seq":0}]"#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct VersionVector {
    seqs: BTreeMap<ReplicaId, u64>,
}

impl VersionVector {
    /// An empty version vector (every replica at 0).
    pub fn new() -> Self {
        VersionVector::default()
    }

    /// The sequence number held for `replica` (0 when none).
    pub fn get(&self, replica: &ReplicaId) -> u64 {
        self.seqs.get(replica).copied().unwrap_or(0)
    }

    /// Raises `replica` to at least `seq` (a lower or zero `seq` changes nothing).
    pub fn raise(&mut self, replica: ReplicaId, seq: u64) {
        if seq > 0 {
            let e = self.seqs.entry(replica).or_insert(0);
            *e = (*e).max(seq);
        }
    }

    /// Raises every replica to at least its number in `other` (the join).
    pub fn merge(&mut self, other: &VersionVector) {
        for (r, s) in other.iter() {
            self.raise(r, s);
        }
    }

    /// The replicas above 0 and their numbers, in replica order.
    pub fn iter(&self) -> impl Iterator<Item = (ReplicaId, u64)> + '_ {
        self.seqs.iter().map(|(r, s)| (*r, *s))
    }

    /// How many replicas are above 0.
    pub fn len(&self) -> usize {
        self.seqs.len()
    }

    /// Whether every replica is at 0.
    pub fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }
}

impl FromIterator<(ReplicaId, u64)> for VersionVector {
    /// Raises each replica to the largest number it is given.
    fn from_iter<I: IntoIterator<Item = (ReplicaId, u64)>>(iter: I) -> Self {
        let mut vv = VersionVector::new();
        for (r, s) in iter {
            vv.raise(r, s);
        }
        vv
    }
}

/// One entry of the JSON form.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    replica: ReplicaId,
    seq: u64,
}

impl Serialize for VersionVector {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut list = s.serialize_seq(Some(self.seqs.len()))?;
        for (replica, seq) in self.iter() {
            list.serialize_element(&Entry { replica, seq })?;
        }
        list.end()
    }
}

impl<'de> Deserialize<'de> for VersionVector {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct List;
        impl<'de> Visitor<'de> for List {
            type Value = VersionVector;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of {replica, seq} entries in increasing replica order")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<VersionVector, A::Error> {
                let mut seqs = BTreeMap::new();
                let mut last: Option<ReplicaId> = None;
                while let Some(Entry { replica, seq }) = a.next_element()? {
                    if seq == 0 {
                        return Err(de::Error::custom(format!(
                            "version vector entry {replica} has seq 0 (absent replicas are omitted)"
                        )));
                    }
                    if last.is_some_and(|l| l >= replica) {
                        return Err(de::Error::custom(format!(
                            "version vector entry {replica} is repeated or out of replica order"
                        )));
                    }
                    last = Some(replica);
                    seqs.insert(replica, seq);
                }
                Ok(VersionVector { seqs })
            }
        }
        d.deserialize_seq(List)
    }
}
