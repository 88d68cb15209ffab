//! `Directory`: a shard map routing pharmacy ids to physical shards, one id or a column at
//! a time, and reshard plans from it.

use pharm_core::ids::PharmacyId;
use pharm_shard::directory::MAX_LOGICAL_SHARDS;
use pharm_shard::reshard::{self, ReshardPlan};
use pharm_shard::{HashScheme, PhysicalShard, Route, ShardMap};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;

use super::{document_text, serde_name};
use crate::core::list_items;
use crate::table::{Table, Values};
use crate::{errors, json};

/// A shard directory (the crate's `ShardMap`): which logical shard a pharmacy id hashes
/// to, which physical shard serves it, pinned pharmacies and moves in progress. Immutable;
/// equal when the maps are.
#[pyclass(frozen, module = "pharm.shard")]
pub(crate) struct Directory {
    map: ShardMap,
}

/// The `scheme` argument.
fn scheme(scheme: &str) -> PyResult<HashScheme> {
    match scheme {
        "pharm" => Ok(HashScheme::Pharm),
        "postgres_bigint" => Ok(HashScheme::PostgresBigint),
        other => Err(PyValueError::new_err(format!(
            "scheme must be \"pharm\" or \"postgres_bigint\", not {other:?}"
        ))),
    }
}

/// The target of a reshard: a count of physical shards `0..n`, or a list of them.
fn plan(py: Python<'_>, map: &ShardMap, target: &Bound<'_, PyAny>) -> PyResult<ReshardPlan> {
    let planned = if let Ok(count) = target.extract::<u32>() {
        reshard::plan_to_count(map, count)
    } else {
        let shards = list_items(target, "target")?
            .iter()
            .map(|item| item.extract::<u32>().map(PhysicalShard))
            .collect::<PyResult<Vec<PhysicalShard>>>()
            .map_err(|_| {
                PyTypeError::new_err(
                    "target must be a count or a list of physical shard numbers (0..=4294967295)",
                )
            })?;
        reshard::plan(map, &shards)
    };
    planned.map_err(|error| errors::domain(py, &error))
}

/// The pharmacy ids of a column argument (a list or tuple of ints in 0..=4294967295).
fn pharmacy_ids(ids: &Bound<'_, PyAny>) -> PyResult<Vec<u32>> {
    list_items(ids, "pharmacy_ids")?
        .iter()
        .enumerate()
        .map(|(index, item)| {
            item.extract::<u32>().map_err(|_| {
                PyValueError::new_err(format!(
                    "pharmacy_ids[{index}] is not a pharmacy id (an int in 0..=4294967295)"
                ))
            })
        })
        .collect()
}

/// Routes as a table.
fn route_table(ids: &[u32], routes: &[Route]) -> Table {
    let moving = |f: &dyn Fn(&pharm_shard::directory::MoveRoute) -> u64| {
        Values::UInt(
            routes
                .iter()
                .map(|r| r.during_move.as_ref().map(f))
                .collect(),
        )
    };
    Table::new()
        .column(
            "pharmacy_id",
            Values::UInt(ids.iter().map(|id| Some(u64::from(*id))).collect()),
        )
        .column(
            "logical",
            Values::UInt(
                routes
                    .iter()
                    .map(|r| Some(u64::from(r.logical.0)))
                    .collect(),
            ),
        )
        .column(
            "physical",
            Values::UInt(
                routes
                    .iter()
                    .map(|r| Some(u64::from(r.physical.0)))
                    .collect(),
            ),
        )
        .column(
            "map_version",
            Values::UInt(routes.iter().map(|r| Some(r.map_version)).collect()),
        )
        .column(
            "pinned",
            Values::Bool(routes.iter().map(|r| Some(r.pinned)).collect()),
        )
        .column(
            "move_phase",
            Values::Text(
                routes
                    .iter()
                    .map(|r| r.during_move.as_ref().and_then(|m| serde_name(&m.phase)))
                    .collect(),
            ),
        )
        .column("move_source", moving(&|m| u64::from(m.source.0)))
        .column("move_target", moving(&|m| u64::from(m.target.0)))
}

#[pymethods]
impl Directory {
    /// A directory from a shard map's JSON form (dict or JSON str): `{"version", "scheme"
    /// ("pharm" or "postgres_bigint"), "logical_count", "assignment", "pins", "moves"}` as
    /// in `testdata/golden/shard/routes.json`. Raises `pharm.ShardError`:
    /// `shard.json_syntax`, `shard.json_invalid` (an unknown field...), or a map's own
    /// `shard.directory_*` code when it is not consistent.
    #[new]
    fn new(py: Python<'_>, map: &Bound<'_, PyAny>) -> PyResult<Self> {
        let text = document_text(map, "map")?;
        let map = ShardMap::from_json(&text).map_err(|error| errors::domain(py, &error))?;
        Ok(Directory { map })
    }

    /// A directory at version 1 spreading `logical_count` logical shards (1..=65536) over
    /// physical shards `0..physical_count` in contiguous, balanced blocks, with no pins and
    /// no moves (the design's default: 16 logical shards, scheme "pharm").
    #[staticmethod]
    #[pyo3(signature = (logical_count, physical_count, scheme = "pharm"))]
    fn balanced(
        py: Python<'_>,
        logical_count: u32,
        physical_count: u32,
        scheme: &str,
    ) -> PyResult<Directory> {
        let scheme = self::scheme(scheme)?;
        if physical_count > MAX_LOGICAL_SHARDS {
            return Err(PyValueError::new_err(format!(
                "physical_count {physical_count} is above {MAX_LOGICAL_SHARDS}"
            )));
        }
        let physical: Vec<PhysicalShard> = (0..physical_count).map(PhysicalShard).collect();
        let map = ShardMap::new(scheme, logical_count, &physical)
            .map_err(|error| errors::domain(py, &error))?;
        Ok(Directory { map })
    }

    /// The map's version.
    #[getter]
    fn version(&self) -> u64 {
        self.map.version()
    }

    /// The route of one pharmacy as a dict: `{"logical", "physical", "map_version",
    /// "pinned", "during_move"}` (the crate's `Route`).
    fn route<'py>(&self, py: Python<'py>, pharmacy_id: u32) -> PyResult<Bound<'py, PyAny>> {
        json::to_py(py, &self.map.route(PharmacyId::new(pharmacy_id)))
    }

    /// The routes of a column of pharmacy ids (a list or tuple of ints) as a table:
    /// `pharmacy_id`, `logical`, `physical`, `map_version`, `pinned`, and for a logical
    /// shard being moved `move_phase` ("copying", "catch_up", "cut_over"), `move_source`
    /// and `move_target` (null otherwise). The GIL is released while routing.
    #[pyo3(signature = (pharmacy_ids, format = "auto"))]
    fn route_column<'py>(
        &self,
        py: Python<'py>,
        pharmacy_ids: &Bound<'py, PyAny>,
        format: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ids = self::pharmacy_ids(pharmacy_ids)?;
        let map = &self.map;
        let routes: Vec<Route> = py.detach(|| {
            ids.iter()
                .map(|id| map.route(PharmacyId::new(*id)))
                .collect()
        });
        route_table(&ids, &routes).emit(py, format)
    }

    /// The reshard plan (dict, the crate's `ReshardPlan`: `from_version`, `logical_count`,
    /// `quotas`, `moves`, `fraction_moved`) that balances the logical shards over `target`:
    /// a count `n` (physical shards `0..n`) or a list of physical shard numbers. Moves the
    /// fewest logical shards. Raises `pharm.ShardError` (`shard.plan_*`).
    fn plan_reshard<'py>(
        &self,
        py: Python<'py>,
        target: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        json::to_py(py, &plan(py, &self.map, target)?)
    }

    /// The moves of `plan_reshard(target)` as a table: `logical`, `from`, `to`.
    #[pyo3(signature = (target, format = "auto"))]
    fn reshard_moves<'py>(
        &self,
        py: Python<'py>,
        target: &Bound<'py, PyAny>,
        format: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let moves = plan(py, &self.map, target)?.moves;
        let column = |f: &dyn Fn(&reshard::PlannedMove) -> u32| {
            Values::UInt(moves.iter().map(|m| Some(u64::from(f(m)))).collect())
        };
        Table::new()
            .column("logical", column(&|m| m.logical.0))
            .column("from", column(&|m| m.from.0))
            .column("to", column(&|m| m.to.0))
            .emit(py, format)
    }

    /// The map's JSON text (the form `Directory(...)` reads).
    fn to_json(&self) -> PyResult<String> {
        json::to_text(&self.map)
    }

    /// The map as a dict (the form `Directory(...)` reads).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json::to_py(py, &self.map)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let scheme = serde_name(&self.map.scheme()).unwrap_or_default();
        Ok(format!(
            "Directory(version={}, scheme={}, logical_count={})",
            self.map.version(),
            PyString::new(py, &scheme).repr()?,
            self.map.logical_count()
        ))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<Directory>()
            .is_ok_and(|other| other.get().map == self.map)
    }

    fn __hash__(&self) -> PyResult<u64> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.to_json()?.hash(&mut hasher);
        Ok(hasher.finish())
    }
}
