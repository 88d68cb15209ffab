//! Scatter-gather over the adapter: building the legs from the map and the router, running
//! them on tokio.

use std::sync::PoisonError;

use pharm_core::ids::PharmacyId;

use super::{PgShards, TokioSleep};
use crate::reads::{QueryKind, Target};
use crate::scatter::{
    GatherResult, ParamValue, ScatterError, ScatterOptions, ScatterRequest, ShardExecutor,
    ShardTarget,
};

impl PgShards {
    /// A scatter-gather request over `pharmacy_ids`: grouped by physical shard with the
    /// map, each leg on the node the router picks for `kind` now (the replica of the
    /// kind's role when it is serving, else the primary; no read-your-writes token).
    pub fn scatter_request(
        &self,
        statement: impl Into<String>,
        params: Vec<ParamValue>,
        pharmacy_ids: impl IntoIterator<Item = PharmacyId>,
        kind: QueryKind,
    ) -> ScatterRequest {
        let now = self.now_ms();
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        let mut router = self.router();
        ScatterRequest::for_pharmacies(
            statement,
            params,
            pharmacy_ids,
            |id| map.route(id).physical,
            |shard| {
                let target = router.route(now, shard, kind, None).target;
                let configured = self
                    .pool(ShardTarget {
                        shard,
                        node: target,
                    })
                    .is_ok();
                if configured { target } else { Target::Primary }
            },
        )
    }

    /// Runs `request` through [`crate::scatter::scatter_gather`] with this adapter as the
    /// executor and a tokio timer.
    ///
    /// # Errors
    ///
    /// As [`crate::scatter::scatter_gather`].
    pub async fn scatter_gather(
        &self,
        request: &ScatterRequest,
        options: &ScatterOptions,
    ) -> Result<GatherResult, ScatterError> {
        crate::scatter::scatter_gather(self as &dyn ShardExecutor, &TokioSleep, request, options)
            .await
    }
}
