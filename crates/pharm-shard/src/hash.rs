//! Stable hashes of `pharmacy_id`.
//!
//! Placement must be identical in every process, on every platform and in every version of
//! this crate, so the functions here are fixed algorithms with published test vectors. Rust's
//! `DefaultHasher`/`RandomState` is never used: it is seeded per process and SipHash output
//! is not a stable contract.
//!
//! Two schemes are offered ([`HashScheme`]):
//!
//! - [`HashScheme::Pharm`] (the default): the first output of SplitMix64 seeded with the id,
//!   see [`pharm_hash`]. A bijection on 64 bits (no two ids collide), with all 64 output
//!   bits well mixed, so the *top* bits can be used as a hash range (see
//!   [`crate::directory`]).
//! - [`HashScheme::PostgresBigint`]: exactly what PostgreSQL (11 and later; checked against
//!   a 15.18 server) computes for `PARTITION BY HASH (bigint_col)`, see [`pg_partition_hash`].
//!   `pg_partition_hash(id) % modulus` is the remainder of the partition the server puts the
//!   row in, so a deployment can move to native hash partitions without rehoming any row.
//!
//! For Citus, which places a `bigint` distribution column by the 32-bit `hashint8` and
//! contiguous hash ranges, [`pg_hashint8`] and [`citus_shard_index`] are provided too.
//!
//! [`jump_consistent_hash`] (Lamping & Veach 2014) is here as a comparison baseline for the
//! benchmarks and the key-movement figures; the directory does not use it.

use serde::{Deserialize, Serialize};

/// How a `pharmacy_id` becomes a 64-bit hash, and how that hash becomes a logical shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HashScheme {
    /// [`pharm_hash`]: SplitMix64 of the id. The logical shard is a contiguous range of the
    /// 64-bit hash space (for a power-of-two count, the top bits of the hash).
    #[default]
    Pharm,
    /// [`pg_partition_hash`]: PostgreSQL's hash partitioning of one `bigint` column. The
    /// logical shard is `hash % logical_count`, the partition remainder PostgreSQL uses
    /// with `MODULUS logical_count`.
    PostgresBigint,
}

impl HashScheme {
    /// The 64-bit hash of `pharmacy_id` under this scheme.
    #[inline]
    #[must_use]
    pub fn hash(&self, pharmacy_id: i64) -> u64 {
        match self {
            Self::Pharm => pharm_hash(pharmacy_id),
            Self::PostgresBigint => pg_partition_hash(pharmacy_id),
        }
    }

    /// The PostgreSQL partition remainder of `pharmacy_id` for `MODULUS modulus`
    /// (`PARTITION BY HASH` on one `bigint` column).
    ///
    /// # Panics
    ///
    /// Panics if `modulus` is 0 (PostgreSQL rejects a zero modulus too).
    #[inline]
    #[must_use]
    pub fn pg_partition(pharmacy_id: i64, modulus: u64) -> u64 {
        pg_partition_hash(pharmacy_id) % modulus
    }
}

/// SplitMix64's increment (`⌊2^64 / φ⌋`, odd).
const SPLITMIX_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// [`HashScheme::Pharm`]: the first output of SplitMix64 (Steele, Lea & Flood 2014; the
/// constants of Vigna's `splitmix64.c`) seeded with the id's two's-complement bits.
///
/// ```text
/// z = (pharmacy_id as u64) + 0x9E3779B97F4A7C15            (wrapping)
/// z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9                  (wrapping)
/// z = (z ^ (z >> 27)) * 0x94D049BB133111EB                  (wrapping)
/// hash = z ^ (z >> 31)
/// ```
///
/// Every step is invertible, so distinct ids never collide. Test vectors: [`PHARM_VECTORS`].
#[inline]
#[must_use]
pub const fn pharm_hash(pharmacy_id: i64) -> u64 {
    splitmix64_mix((pharmacy_id as u64).wrapping_add(SPLITMIX_GAMMA))
}

/// SplitMix64's output function (David Stafford's "Mix13" variant of the MurmurHash3
/// finalizer).
#[inline]
const fn splitmix64_mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Test vectors of [`pharm_hash`]: `(pharmacy_id, hash)`.
///
/// `pharm_hash(1234567)` is the first output of Vigna's reference `splitmix64.c` seeded
/// with 1234567 (6457827717110365317), and `pharm_hash(0)` its first output from seed 0.
pub const PHARM_VECTORS: &[(i64, u64)] = &[
    (0, 0xE220_A839_7B1D_CDAF),
    (1, 0x910A_2DEC_8902_5CC1),
    (2, 0x9758_35DE_1C97_56CE),
    (1_234_567, 6_457_827_717_110_365_317),
    (42, 0xBDD7_3226_2FEB_6E95),
    (2_500, 0x603F_F94A_1E51_CA98),
    (50_000, 0xB297_73CB_F568_90F9),
    (-1, 0xE4D9_7177_1B65_2C20),
    (i64::MIN, 0x481E_C0A2_12A9_F3DB),
    (i64::MAX, 0x2A67_D755_2E03_9EA7),
];

/// `HASH_PARTITION_SEED` (PostgreSQL `src/include/catalog/partition.h`): the seed passed to
/// the extended hash support function of every hash-partition key.
pub const PG_HASH_PARTITION_SEED: u64 = 0x7A5B_2236_7996_DCFD;

/// The constant of PostgreSQL's `hash_combine64` (`src/include/common/hashfn.h`).
const PG_HASH_COMBINE64: u64 = 0x49A0_F4DD_15E5_A8E3;

/// lookup3's initial value for a 4-byte key: `0x9e3779b9 + sizeof(uint32) + 3923095`.
const JENKINS_INIT_U32: u32 = 0x9E37_79B9_u32.wrapping_add(4).wrapping_add(3_923_095);

/// [`HashScheme::PostgresBigint`]: the row hash PostgreSQL computes for a table
/// `PARTITION BY HASH (c)` with one `bigint` column `c` holding `pharmacy_id`.
///
/// Following PostgreSQL's sources (`src/backend/partitioning/partbounds.c`
/// `compute_partition_hash_value`, `src/backend/access/hash/hashfunc.c`
/// `hashint8extended`, `src/common/hashfn.c` `hash_uint32_extended`,
/// `src/include/common/hashfn.h` `hash_combine64`):
///
/// ```text
/// lo = low 32 bits of id; hi = high 32 bits of id
/// k  = lo ^ (id >= 0 ? hi : !hi)                      -- hashint8extended's fold
/// a = b = c = 0x9e3779b9 + 4 + 3923095                 -- hash_uint32_extended(k, seed)
/// a += seed >> 32; b += seed as u32; mix(a, b, c)      -- seed = 0x7A5B22367996DCFD
/// a += k; final(a, b, c)                               -- lookup3 mix/final
/// h = (b << 32) | c
/// row_hash = 0 ^ (h + 0x49a0f4dd15e5a8e3 + (0 << 54) + (0 >> 7))   -- hash_combine64(0, h)
/// ```
///
/// The partition is the one with `REMAINDER = row_hash % MODULUS` (unsigned), which is
/// also what `satisfies_hash_partition` checks. Test vectors computed by a PostgreSQL 15.18
/// server: [`PG_VECTORS`].
#[inline]
#[must_use]
pub const fn pg_partition_hash(pharmacy_id: i64) -> u64 {
    pg_hashint8extended(pharmacy_id, PG_HASH_PARTITION_SEED).wrapping_add(PG_HASH_COMBINE64)
}

/// PostgreSQL's `hashint8extended(value, seed)`: the 64-bit hash of a `bigint`
/// (`SELECT hashint8extended(value, seed)`).
#[inline]
#[must_use]
pub const fn pg_hashint8extended(value: i64, seed: u64) -> u64 {
    pg_hash_uint32_extended(pg_fold_int8(value), seed)
}

/// PostgreSQL's `hashint8(value)`: the 32-bit hash of a `bigint` (`SELECT hashint8(value)`),
/// the hash Citus distributes a `bigint` column by.
#[inline]
#[must_use]
pub const fn pg_hashint8(value: i64) -> i32 {
    let k = pg_fold_int8(value);
    let mut a = JENKINS_INIT_U32.wrapping_add(k);
    let mut b = JENKINS_INIT_U32;
    let mut c = JENKINS_INIT_U32;
    jenkins_final(&mut a, &mut b, &mut c);
    c as i32
}

/// `hashint8`'s fold of a 64-bit value to 32 bits, chosen so that an `int8` equal to an
/// `int4` hashes like it: `lo ^ (v >= 0 ? hi : ~hi)`.
#[inline]
const fn pg_fold_int8(value: i64) -> u32 {
    let lo = value as u32;
    let hi = (value >> 32) as u32;
    lo ^ if value >= 0 { hi } else { !hi }
}

/// PostgreSQL's `hash_uint32_extended(k, seed)` (lookup3 on one 32-bit word).
#[inline]
const fn pg_hash_uint32_extended(k: u32, seed: u64) -> u64 {
    let mut a = JENKINS_INIT_U32;
    let mut b = JENKINS_INIT_U32;
    let mut c = JENKINS_INIT_U32;
    if seed != 0 {
        a = a.wrapping_add((seed >> 32) as u32);
        b = b.wrapping_add(seed as u32);
        jenkins_mix(&mut a, &mut b, &mut c);
    }
    a = a.wrapping_add(k);
    jenkins_final(&mut a, &mut b, &mut c);
    ((b as u64) << 32) | c as u64
}

/// lookup3 `mix(a, b, c)`.
#[inline]
const fn jenkins_mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

/// lookup3 `final(a, b, c)`.
#[inline]
const fn jenkins_final(a: &mut u32, b: &mut u32, c: &mut u32) {
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(14));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(11));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(25));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(16));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(4));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(14));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(24));
}

/// The index (0-based, in hash-range order) of the Citus shard holding `value` in a table
/// distributed by a `bigint` column into `shard_count` hash shards with the default split
/// points (`create_distributed_table(..., shard_count => n)`).
///
/// Citus splits the 2^32 values of [`pg_hashint8`] into `shard_count` ranges of
/// `2^32 / shard_count` (integer division), the last range taking the remainder
/// (`CalculateUniformHashRangeIndex`). Derived from Citus's source, not checked against a
/// Citus server; [`CITUS_HASHINT8_VECTORS`] checks the hash itself.
///
/// # Panics
///
/// Panics if `shard_count` is 0.
#[inline]
#[must_use]
pub const fn citus_shard_index(value: i64, shard_count: u32) -> u32 {
    let normalized = (pg_hashint8(value) as i64 - i32::MIN as i64) as u64;
    let range = (1u64 << 32) / shard_count as u64;
    let index = normalized / range;
    if index >= shard_count as u64 {
        shard_count - 1
    } else {
        index as u32
    }
}

/// Jump consistent hash (Lamping & Veach 2014, arXiv:1406.2294): the bucket in
/// `0..buckets` of a 64-bit key. Growing from `n` to `m` buckets moves exactly the keys
/// that land in the new buckets, a fraction `1 − n/m` in expectation.
///
/// A comparison baseline; returns 0 when `buckets <= 0`.
#[inline]
#[must_use]
pub fn jump_consistent_hash(mut key: u64, buckets: i32) -> i32 {
    let mut b: i64 = -1;
    let mut j: i64 = 0;
    while j < i64::from(buckets) {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b.wrapping_add(1) as f64) * ((1u64 << 31) as f64 / (((key >> 33) + 1) as f64)))
            as i64;
    }
    if b < 0 { 0 } else { b as i32 }
}

/// Partition placement computed by a real PostgreSQL server: `(pharmacy_id, modulus,
/// remainder)` — a row with that `bigint` key in a table `PARTITION BY HASH (id)` with
/// partitions `FOR VALUES WITH (MODULUS modulus, REMAINDER r)` for every `r` lands in the
/// partition with `REMAINDER = remainder`.
///
/// Computed by PostgreSQL 15.18 (Debian 15.18-0+deb12u1, x86_64):
///
/// ```sql
/// CREATE TABLE ids (id bigint PRIMARY KEY);
/// INSERT INTO ids VALUES (-9223372036854775808), (9223372036854775807), (-1), (0), (1),
///   (2), (42), (2500), (12345), (49999), (50000), (-42), (4294967295), (4294967296),
///   (-4294967296), (123456789012);
/// -- for m in 4, 5, 16, 64:
/// CREATE TABLE t16 (id bigint) PARTITION BY HASH (id);
/// -- for r in 0..m:
/// CREATE TABLE t16_p0 PARTITION OF t16 FOR VALUES WITH (MODULUS 16, REMAINDER 0);
/// INSERT INTO t16 SELECT id FROM ids;
/// SELECT id, 16, split_part(tableoid::regclass::text, '_p', 2) FROM t16;
/// ```
///
/// The same implementation also reproduced the server's placement of 15,001 further ids
/// (−5,000..=5,000 and 5,000 random `bigint`s) into `MODULUS 97`.
pub const PG_VECTORS: &[(i64, u64, u64)] = &[
    (i64::MIN, 4, 3),
    (-4_294_967_296, 4, 0),
    (-42, 4, 2),
    (-1, 4, 1),
    (0, 4, 0),
    (1, 4, 0),
    (2, 4, 2),
    (42, 4, 2),
    (2500, 4, 0),
    (12_345, 4, 0),
    (49_999, 4, 3),
    (50_000, 4, 2),
    (4_294_967_295, 4, 1),
    (4_294_967_296, 4, 0),
    (123_456_789_012, 4, 3),
    (i64::MAX, 4, 2),
    (i64::MIN, 5, 4),
    (-4_294_967_296, 5, 3),
    (-42, 5, 0),
    (-1, 5, 4),
    (0, 5, 3),
    (1, 5, 0),
    (2, 5, 1),
    (42, 5, 4),
    (2500, 5, 1),
    (12_345, 5, 1),
    (49_999, 5, 0),
    (50_000, 5, 1),
    (4_294_967_295, 5, 4),
    (4_294_967_296, 5, 0),
    (123_456_789_012, 5, 2),
    (i64::MAX, 5, 1),
    (i64::MIN, 16, 15),
    (-4_294_967_296, 16, 0),
    (-42, 16, 2),
    (-1, 16, 5),
    (0, 16, 0),
    (1, 16, 8),
    (2, 16, 10),
    (42, 16, 2),
    (2500, 16, 4),
    (12_345, 16, 12),
    (49_999, 16, 11),
    (50_000, 16, 10),
    (4_294_967_295, 16, 5),
    (4_294_967_296, 16, 8),
    (123_456_789_012, 16, 7),
    (i64::MAX, 16, 6),
    (i64::MIN, 64, 63),
    (-4_294_967_296, 64, 48),
    (-42, 64, 2),
    (-1, 64, 37),
    (0, 64, 48),
    (1, 64, 56),
    (2, 64, 58),
    (42, 64, 34),
    (2500, 64, 4),
    (12_345, 64, 12),
    (49_999, 64, 27),
    (50_000, 64, 42),
    (4_294_967_295, 64, 37),
    (4_294_967_296, 64, 56),
    (123_456_789_012, 64, 39),
    (i64::MAX, 64, 54),
];

/// `(value, hashint8(value))` computed by PostgreSQL 15.18 (`SELECT id, hashint8(id) FROM ids`,
/// the ids of [`PG_VECTORS`]).
pub const CITUS_HASHINT8_VECTORS: &[(i64, i32)] = &[
    (i64::MIN, -96_758_253),
    (-4_294_967_296, -272_711_505),
    (-42, -487_492_805),
    (-1, 385_747_274),
    (0, -272_711_505),
    (1, -1_905_060_026),
    (2, 1_134_484_726),
    (42, 1_509_752_520),
    (2500, 287_257_702),
    (12_345, -78_097_827),
    (49_999, 1_819_360_961),
    (50_000, 437_217_226),
    (4_294_967_295, 385_747_274),
    (4_294_967_296, -1_905_060_026),
    (123_456_789_012, 1_645_134_813),
    (i64::MAX, -1_524_351_049),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pharm_vectors() {
        for &(id, want) in PHARM_VECTORS {
            assert_eq!(pharm_hash(id), want, "pharm_hash({id})");
            assert_eq!(HashScheme::Pharm.hash(id), want);
        }
    }

    #[test]
    fn splitmix_reference_sequence() {
        // Vigna's splitmix64.c seeded with 1234567: the n-th output is the mix of
        // seed + n * gamma, i.e. pharm_hash(seed + (n - 1) * gamma).
        let want: [u64; 3] = [
            6_457_827_717_110_365_317,
            3_203_168_211_198_807_973,
            9_817_491_932_198_370_423,
        ];
        let mut state: u64 = 1_234_567;
        for w in want {
            assert_eq!(pharm_hash(state as i64), w);
            state = state.wrapping_add(SPLITMIX_GAMMA);
        }
    }

    #[test]
    fn pg_vectors_match_server() {
        assert!(PG_VECTORS.len() >= 40);
        for &(id, modulus, want) in PG_VECTORS {
            assert_eq!(
                HashScheme::pg_partition(id, modulus),
                want,
                "id {id} modulus {modulus}"
            );
        }
    }

    #[test]
    fn pg_hashint8extended_vectors() {
        // SELECT id, hashint8extended(id, 8816678312871386365) -- HASH_PARTITION_SEED
        let vectors: &[(i64, i64)] = &[
            (i64::MIN, -6_050_265_599_104_649_060),
            (-4_294_967_296, -4_403_592_609_991_167_795),
            (-42, 6_660_635_123_915_733_087),
            (-1, -5_017_072_347_659_237_694),
            (0, -4_403_592_609_991_167_795),
            (1, 5_968_994_663_651_403_477),
            (2, -6_784_076_462_669_891_433),
            (42, 7_363_975_540_656_877_951),
            (2500, 3_246_695_657_622_846_433),
            (12_345, 3_476_363_059_597_467_753),
            (49_999, -5_190_935_320_630_712_008),
            (50_000, -3_637_276_481_903_508_217),
            (4_294_967_295, -5_017_072_347_659_237_694),
            (4_294_967_296, 5_968_994_663_651_403_477),
            (123_456_789_012, 1_825_551_100_719_034_884),
            (i64::MAX, 4_938_542_303_000_433_043),
        ];
        assert_eq!(PG_HASH_PARTITION_SEED as i64, 8_816_678_312_871_386_365);
        for &(id, want) in vectors {
            assert_eq!(
                pg_hashint8extended(id, PG_HASH_PARTITION_SEED) as i64,
                want,
                "{id}"
            );
        }
    }

    #[test]
    fn pgcat_vectors() {
        // pgcat's `Sharder::new(5, PgBigintHash)` vectors, generated by its authors from
        // a real server (postgresml/pgcat, tests/sharding/partition_hash_test_setup.sql).
        let shards: [&[i64]; 5] = [
            &[1, 4, 5, 14, 19, 39, 40, 46, 47, 53],
            &[2, 3, 11, 17, 21, 23, 30, 49, 51, 54],
            &[6, 7, 15, 16, 18, 20, 25, 28, 34, 35],
            &[8, 12, 13, 22, 29, 31, 33, 36, 41, 43],
            &[9, 10, 24, 26, 27, 32, 37, 38, 42, 45],
        ];
        for (shard, ids) in shards.iter().enumerate() {
            for &id in *ids {
                assert_eq!(HashScheme::pg_partition(id, 5), shard as u64, "id {id}");
            }
        }
    }

    #[test]
    fn citus_hashint8_vectors() {
        assert!(!CITUS_HASHINT8_VECTORS.is_empty());
        for &(id, want) in CITUS_HASHINT8_VECTORS {
            assert_eq!(pg_hashint8(id), want, "hashint8({id})");
        }
    }

    #[test]
    fn citus_ranges() {
        // hashint8(0) = -272711505 → 1874772143 after adding 2^31: range 1 of 4 (width
        // 2^30), range 13 of 32 (width 2^27).
        assert_eq!(citus_shard_index(0, 4), 1);
        assert_eq!(citus_shard_index(0, 32), 13);
        assert_eq!(citus_shard_index(1, 32), 1); // hashint8(1) = -1905060026
        assert_eq!(citus_shard_index(42, 3), 2); // hashint8(42) = 1509752520
        assert_eq!(citus_shard_index(i64::MIN, 100), 47); // -96758253
        assert_eq!(citus_shard_index(49_999, 7), 6); // 1819360961
        assert_eq!(citus_shard_index(0, 1), 0);
        for n in [2u32, 3, 16, 32, 100, 64_000] {
            for id in -1000..1000 {
                assert!(citus_shard_index(id, n) < n);
            }
        }
    }

    #[test]
    fn jump_known_properties() {
        assert_eq!(jump_consistent_hash(12345, 1), 0);
        assert_eq!(jump_consistent_hash(12345, 0), 0);
        // Growing only moves keys into the new bucket.
        for key in 0..10_000u64 {
            let k = pharm_hash(key as i64);
            let a = jump_consistent_hash(k, 4);
            let b = jump_consistent_hash(k, 5);
            assert!(a == b || b == 4);
            assert!((0..4).contains(&a));
        }
    }
}
