//! What the store can still do when the cloud or a remote service is unreachable.
//!
//! [`capabilities`] turns connectivity, per-service health and the state profile into a
//! [`CapabilityReport`]: one [`CapabilityRow`] per feature of the graceful-degradation
//! matrix, each with a [`Mode`], a one-line explanation a
//! cashier can read, and the rule ids involved. It is a pure function: the POS calls it
//! whenever health changes and shows the rows on screen.
//!
//! Rows whose matrix entry says "offline" depend on the cloud: they degrade when
//! [`ServiceHealth::cloud`] is down. When [`Connectivity::Offline`] every remote service is
//! treated as down whatever the flags say. A service flag that is down while the cloud is
//! up affects only its own rows (a PMP outage affects only the PMP rows).

use serde::{Deserialize, Serialize};

use crate::model::Schedule;
use crate::rules::{Connectivity, OfflinePolicy, RuleId, StateProfile};

/// Reachability of each remote service (`true` = reachable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceHealth {
    /// The store's cloud back end (shared records, cross-store history, sync).
    pub cloud: bool,
    /// The state prescription-drug-monitoring program (query and reporting).
    pub pmp: bool,
    /// Insurance claim adjudication (switch / PBM).
    pub insurance: bool,
    /// NPLEx, the cross-store pseudoephedrine log and stop-sale service.
    pub nplex: bool,
    /// Electronic prescriptions for controlled substances (retrieval of new EPCS).
    pub epcs: bool,
    /// The substitution (Orange Book equivalence) catalog.
    pub substitution_catalog: bool,
    /// The demand-forecasting service.
    pub forecasting: bool,
    /// The analytics service behind dashboards.
    pub analytics: bool,
    /// DSCSA product-identifier verification.
    pub dscsa_verification: bool,
}

impl ServiceHealth {
    /// Every service reachable.
    pub const fn all_up() -> Self {
        Self::uniform(true)
    }

    /// Every service unreachable.
    pub const fn offline() -> Self {
        Self::uniform(false)
    }

    const fn uniform(up: bool) -> Self {
        ServiceHealth {
            cloud: up,
            pmp: up,
            insurance: up,
            nplex: up,
            epcs: up,
            substitution_catalog: up,
            forecasting: up,
            analytics: up,
            dscsa_verification: up,
        }
    }

    /// The health to act on: everything down when offline, the flags otherwise.
    pub const fn effective(self, connectivity: Connectivity) -> Self {
        if connectivity.is_offline() {
            Self::offline()
        } else {
            self
        }
    }
}

/// A feature of the point of sale whose availability depends on remote services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// OTC sale of ordinary products.
    OtcSale,
    /// OTC sale of scheduled listed chemical products (pseudoephedrine, ephedrine, PPA).
    ListedChemicalSale,
    /// Sale of a Schedule V product without a prescription (21 CFR 1306.26).
    CvOtcSale,
    /// Dispensing a non-controlled prescription.
    NonControlledRx,
    /// Dispensing a controlled-substance prescription.
    ControlledRx,
    /// Dispensing a controlled prescription (CII) to a patient with no history here.
    ControlledRxNewPatient,
    /// Insurance claim adjudication.
    InsuranceClaims,
    /// Querying the PMP before dispensing.
    PmpCheck,
    /// Reporting dispenses to the PMP.
    PmpReporting,
    /// Retrieving electronic controlled-substance prescriptions.
    EpcsRetrieval,
    /// Registering a new patient.
    NewPatient,
    /// Generic substitution.
    Substitution,
    /// Demand forecast and reorder points.
    DemandForecast,
    /// Analytics dashboards.
    AnalyticsDashboard,
    /// DSCSA verification of scanned product identifiers.
    DscsaVerification,
    /// Inventory synchronization across terminals and stores.
    InventorySync,
}

impl Feature {
    /// Every feature, in report order.
    pub const ALL: [Feature; 16] = [
        Feature::OtcSale,
        Feature::ListedChemicalSale,
        Feature::CvOtcSale,
        Feature::NonControlledRx,
        Feature::ControlledRx,
        Feature::ControlledRxNewPatient,
        Feature::InsuranceClaims,
        Feature::PmpCheck,
        Feature::PmpReporting,
        Feature::EpcsRetrieval,
        Feature::NewPatient,
        Feature::Substitution,
        Feature::DemandForecast,
        Feature::AnalyticsDashboard,
        Feature::DscsaVerification,
        Feature::InventorySync,
    ];
}

/// How available a feature is, ordered by severity (`Full < Degraded < Limited <
/// Unavailable`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Works as normal.
    Full,
    /// Works with a fallback of lower quality (cash only, cached data, queued work).
    Degraded,
    /// Works only in restricted cases or with a pharmacist override and later
    /// reconciliation.
    Limited,
    /// Not available until the service comes back (or not allowed in this state).
    Unavailable,
}

/// One feature's availability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapabilityRow {
    /// The feature.
    pub feature: Feature,
    /// Its availability.
    pub mode: Mode,
    /// One line a cashier can read.
    pub detail: String,
    /// Rule ids involved (serialized as their text, `"PSE-DAY-01"`).
    pub rules: Vec<RuleId>,
}

/// Availability of every [`Feature`], in [`Feature::ALL`] order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapabilityReport {
    /// The store cannot reach the cloud ([`Connectivity::Offline`]).
    pub offline: bool,
    /// One row per feature.
    pub rows: Vec<CapabilityRow>,
}

impl CapabilityReport {
    /// The row for `feature`.
    pub fn get(&self, feature: Feature) -> Option<&CapabilityRow> {
        self.rows.iter().find(|row| row.feature == feature)
    }

    /// The mode of `feature` (`None` if the report has no such row).
    pub fn mode(&self, feature: Feature) -> Option<Mode> {
        self.get(feature).map(|row| row.mode)
    }

    /// The most severe mode in the report ([`Mode::Full`] when empty).
    pub fn worst(&self) -> Mode {
        self.rows
            .iter()
            .map(|row| row.mode)
            .max()
            .unwrap_or(Mode::Full)
    }

    /// Rows that are not [`Mode::Full`].
    pub fn affected(&self) -> impl Iterator<Item = &CapabilityRow> {
        self.rows.iter().filter(|row| row.mode != Mode::Full)
    }
}

fn row(feature: Feature, mode: Mode, detail: impl Into<String>, rules: &[RuleId]) -> CapabilityRow {
    CapabilityRow {
        feature,
        mode,
        detail: detail.into(),
        rules: rules.to_vec(),
    }
}

/// The state's PMP mandate as text (`"CII, CIII, opioid"`), empty when there is none.
fn pmp_mandate(profile: &StateProfile) -> String {
    let schedules = profile
        .pmp_query_schedules
        .iter()
        .map(|s| Schedule::label(*s).to_owned());
    // Debug names are the variant names (`Opioid`), shown in lower case.
    let classes = profile
        .pmp_query_classes
        .iter()
        .map(|c| format!("{c:?}").to_lowercase());
    schedules.chain(classes).collect::<Vec<_>>().join(", ")
}

/// The capability report for the given connectivity, service health and state profile.
pub fn capabilities(
    connectivity: Connectivity,
    health: &ServiceHealth,
    profile: &StateProfile,
) -> CapabilityReport {
    let up = health.effective(connectivity);
    let state = profile.state.as_str();
    let rows = Feature::ALL
        .iter()
        .map(|&feature| feature_row(feature, &up, profile, state))
        .collect();
    CapabilityReport {
        offline: connectivity.is_offline(),
        rows,
    }
}

fn feature_row(
    feature: Feature,
    up: &ServiceHealth,
    profile: &StateProfile,
    state: &str,
) -> CapabilityRow {
    use Feature as F;
    use Mode::{Degraded, Full, Limited, Unavailable};
    match feature {
        F::OtcSale => row(F::OtcSale, Full, "OTC sales available", &[]),
        F::ListedChemicalSale => {
            const PSE: &[RuleId] = &[
                RuleId::PseId01,
                RuleId::PseLog01,
                RuleId::PseDay01,
                RuleId::Pse30d01,
            ];
            const PSE_OFFLINE: &[RuleId] =
                &[RuleId::PseDay01, RuleId::Pse30d01, RuleId::PseState01];
            if profile.pse.rx_only {
                row(
                    feature,
                    Unavailable,
                    format!(
                        "pseudoephedrine/ephedrine is prescription-only in {state}; no OTC sale"
                    ),
                    &[RuleId::PseState01],
                )
            } else if up.nplex && up.cloud {
                row(
                    feature,
                    Full,
                    "ID, logbook and NPLEx purchase limits checked",
                    PSE,
                )
            } else {
                match profile.pse.offline_policy {
                    OfflinePolicy::RequireOverride => row(
                        feature,
                        Limited,
                        "pharmacist override, local history only, queued for NPLEx upload",
                        PSE_OFFLINE,
                    ),
                    OfflinePolicy::Block => row(
                        feature,
                        Unavailable,
                        format!("not sold while NPLEx is unreachable ({state} policy)"),
                        PSE_OFFLINE,
                    ),
                }
            }
        }
        F::CvOtcSale => {
            if !profile.cv_otc_allowed {
                row(
                    feature,
                    Unavailable,
                    format!("Schedule V sale without a prescription is not allowed in {state}"),
                    &[RuleId::Cs5Otc01],
                )
            } else if up.cloud {
                row(
                    feature,
                    Full,
                    "pharmacist only; 48-hour purchaser limits checked",
                    &[RuleId::Cs5Otc01],
                )
            } else {
                row(
                    feature,
                    Limited,
                    "pharmacist only; 48-hour limits on local history only",
                    &[RuleId::Cs5Otc01],
                )
            }
        }
        F::NonControlledRx => {
            const RX: &[RuleId] = &[
                RuleId::RxExp01,
                RuleId::RxRefills01,
                RuleId::RxRts01,
                RuleId::LotExp01,
            ];
            if up.cloud {
                row(feature, Full, "prescriptions dispensed as normal", RX)
            } else {
                row(
                    feature,
                    Degraded,
                    "dispensing with cached data; all local rules apply; claims queued",
                    RX,
                )
            }
        }
        F::ControlledRx => {
            if up.cloud {
                row(
                    feature,
                    Full,
                    "controlled prescriptions dispensed as normal",
                    &[],
                )
            } else if !profile.pmp_unavailable_exemption && !pmp_mandate(profile).is_empty() {
                row(
                    feature,
                    Limited,
                    format!(
                        "pharmacist override, reconciliation item; {} not dispensed until the PMP is back ({state} mandate)",
                        pmp_mandate(profile)
                    ),
                    &[RuleId::CsOffline01, RuleId::CsPmp01],
                )
            } else {
                row(
                    feature,
                    Limited,
                    "pharmacist override, reconciliation item",
                    &[RuleId::CsOffline01],
                )
            }
        }
        F::ControlledRxNewPatient => {
            const RULES: &[RuleId] = &[RuleId::CsOffline01, RuleId::CsPmp01];
            if up.cloud {
                row(
                    feature,
                    Full,
                    "new patients' controlled prescriptions dispensed as normal",
                    &[],
                )
            } else {
                match profile.offline_new_patient_cii {
                    OfflinePolicy::RequireOverride => row(
                        feature,
                        Limited,
                        "pharmacist override: no patient history or PMP offline; reconciliation item",
                        RULES,
                    ),
                    OfflinePolicy::Block => row(
                        feature,
                        Unavailable,
                        format!("not dispensed to new patients while offline ({state} policy)"),
                        RULES,
                    ),
                }
            }
        }
        F::InsuranceClaims => {
            if up.insurance {
                row(feature, Full, "claims adjudicated online", &[])
            } else {
                row(
                    feature,
                    Degraded,
                    "cash only, claim queued for later",
                    &[RuleId::RxRts01],
                )
            }
        }
        F::PmpCheck => {
            let mandate = pmp_mandate(profile);
            if up.pmp {
                row(feature, Full, "PMP queries available", &[RuleId::CsPmp01])
            } else if profile.pmp_unavailable_exemption || mandate.is_empty() {
                row(
                    feature,
                    Degraded,
                    "PMP unreachable: manual verification required",
                    &[RuleId::CsPmp01],
                )
            } else {
                row(
                    feature,
                    Unavailable,
                    format!(
                        "PMP unreachable: {mandate} cannot be dispensed until it is back ({state} mandate)"
                    ),
                    &[RuleId::CsPmp01],
                )
            }
        }
        F::PmpReporting => {
            const RULES: &[RuleId] = &[RuleId::CsPmpReport01, RuleId::CsPmpZero01];
            if up.pmp {
                row(feature, Full, "PMP reports sent", RULES)
            } else {
                row(
                    feature,
                    Degraded,
                    "reports queued; reports past the deadline escalate at end of day (notify the PMP)",
                    RULES,
                )
            }
        }
        F::EpcsRetrieval => {
            if up.epcs {
                row(feature, Full, "electronic prescriptions retrieved", &[])
            } else {
                row(feature, Limited, "only prescriptions already cached", &[])
            }
        }
        F::NewPatient => {
            if up.cloud {
                row(feature, Full, "new patients registered", &[])
            } else {
                row(feature, Limited, "local record, merged on sync", &[])
            }
        }
        F::Substitution => {
            const RULES: &[RuleId] = &[RuleId::RxSubst01, RuleId::RxDaw01];
            if up.substitution_catalog {
                row(feature, Full, "generic substitution available", RULES)
            } else {
                row(feature, Degraded, "original product only", RULES)
            }
        }
        F::DemandForecast => {
            if up.forecasting {
                row(feature, Full, "forecasts from the forecasting service", &[])
            } else {
                row(
                    feature,
                    Degraded,
                    "historical average from local dispensing history",
                    &[],
                )
            }
        }
        F::AnalyticsDashboard => {
            if up.analytics {
                row(feature, Full, "live dashboards", &[])
            } else {
                row(feature, Degraded, "last cached aggregate with its age", &[])
            }
        }
        F::DscsaVerification => {
            if up.dscsa_verification {
                row(
                    feature,
                    Full,
                    "product identifiers verified",
                    &[RuleId::LotDscsa01],
                )
            } else {
                row(
                    feature,
                    Degraded,
                    "a unit whose verification cannot be made is quarantined until verified",
                    &[RuleId::LotDscsa01],
                )
            }
        }
        F::InventorySync => {
            if up.cloud {
                row(feature, Full, "inventory synced", &[])
            } else {
                row(
                    feature,
                    Degraded,
                    "local CRDT state, synced on reconnect",
                    &[],
                )
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::time::DateTime;

    fn offline() -> Connectivity {
        Connectivity::Offline {
            since: "2026-11-27T09:00:00".parse::<DateTime>().unwrap(),
        }
    }

    #[test]
    fn online_all_up_is_full_everywhere() {
        let r = capabilities(
            Connectivity::Online,
            &ServiceHealth::all_up(),
            &StateProfile::federal(),
        );
        assert!(!r.offline);
        assert_eq!(r.rows.len(), Feature::ALL.len());
        for (row, feature) in r.rows.iter().zip(Feature::ALL) {
            assert_eq!(row.feature, feature);
            assert_eq!(row.mode, Mode::Full, "{feature:?}");
            assert!(!row.detail.is_empty());
        }
        assert_eq!(r.worst(), Mode::Full);
        assert_eq!(r.affected().count(), 0);
    }

    #[test]
    fn offline_matrix() {
        use Feature as F;
        use Mode::*;
        let expected = [
            (F::OtcSale, Full),
            (F::ListedChemicalSale, Limited),
            (F::CvOtcSale, Limited),
            (F::NonControlledRx, Degraded),
            (F::ControlledRx, Limited),
            (F::ControlledRxNewPatient, Limited),
            (F::InsuranceClaims, Degraded),
            (F::PmpCheck, Degraded),
            (F::PmpReporting, Degraded),
            (F::EpcsRetrieval, Limited),
            (F::NewPatient, Limited),
            (F::Substitution, Degraded),
            (F::DemandForecast, Degraded),
            (F::AnalyticsDashboard, Degraded),
            (F::DscsaVerification, Degraded),
            (F::InventorySync, Degraded),
        ];
        assert_eq!(expected.len(), Feature::ALL.len());
        // Offline overrides flags that claim the services are up.
        for health in [ServiceHealth::all_up(), ServiceHealth::offline()] {
            let r = capabilities(offline(), &health, &StateProfile::federal());
            assert!(r.offline);
            for (feature, mode) in expected {
                assert_eq!(r.mode(feature), Some(mode), "{feature:?}");
            }
        }
        // Online but every service down gives the same modes.
        let r = capabilities(
            Connectivity::Online,
            &ServiceHealth::offline(),
            &StateProfile::federal(),
        );
        assert!(!r.offline);
        for (feature, mode) in expected {
            assert_eq!(r.mode(feature), Some(mode), "{feature:?}");
        }
        let r = capabilities(
            offline(),
            &ServiceHealth::all_up(),
            &StateProfile::federal(),
        );
        let pse = r.get(F::ListedChemicalSale).unwrap();
        assert_eq!(
            pse.detail,
            "pharmacist override, local history only, queued for NPLEx upload"
        );
        assert!(pse.rules.contains(&RuleId::PseDay01));
        assert_eq!(
            r.get(F::InsuranceClaims).unwrap().detail,
            "cash only, claim queued for later"
        );
        assert_eq!(r.worst(), Limited);
    }

    #[test]
    fn profile_differences() {
        let down = ServiceHealth::offline();
        // Texas: PSE Block while NPLEx is unreachable.
        let tx = capabilities(offline(), &down, &StateProfile::texas());
        assert_eq!(
            tx.mode(Feature::ListedChemicalSale),
            Some(Mode::Unavailable)
        );
        assert!(
            tx.get(Feature::ListedChemicalSale)
                .unwrap()
                .detail
                .contains("TX")
        );
        // Federal: RequireOverride.
        let us = capabilities(offline(), &down, &StateProfile::federal());
        assert_eq!(us.mode(Feature::ListedChemicalSale), Some(Mode::Limited));
        // Alaska: PMP mandate without an "unavailable" exemption.
        let ak = capabilities(offline(), &down, &StateProfile::alaska());
        let pmp = ak.get(Feature::PmpCheck).unwrap();
        assert_eq!(pmp.mode, Mode::Unavailable);
        assert!(pmp.detail.contains("CII, CIII"), "{}", pmp.detail);
        assert_eq!(ak.worst(), Mode::Unavailable);
        let controlled = ak.get(Feature::ControlledRx).unwrap();
        assert!(controlled.rules.contains(&RuleId::CsPmp01));
        assert!(
            controlled.detail.contains("CII, CIII"),
            "{}",
            controlled.detail
        );
        // A state without a mandate and without an exemption: nothing to block.
        let none = StateProfile {
            pmp_unavailable_exemption: false,
            ..StateProfile::federal()
        };
        let r = capabilities(offline(), &down, &none);
        assert_eq!(r.mode(Feature::PmpCheck), Some(Mode::Degraded));
        // Texas classes are named in the Unavailable text when the exemption is removed.
        let strict_tx = StateProfile {
            pmp_unavailable_exemption: false,
            ..StateProfile::texas()
        };
        let r = capabilities(offline(), &down, &strict_tx);
        assert!(r.get(Feature::PmpCheck).unwrap().detail.contains("opioid"));
        // Rx-only PSE state: unavailable as OTC even online.
        let mut rx_only = StateProfile::federal();
        rx_only.pse.rx_only = true;
        let r = capabilities(Connectivity::Online, &ServiceHealth::all_up(), &rx_only);
        assert_eq!(r.mode(Feature::ListedChemicalSale), Some(Mode::Unavailable));
        // No CV OTC in this state: unavailable even online.
        let no_cv = StateProfile {
            cv_otc_allowed: false,
            ..StateProfile::federal()
        };
        let r = capabilities(Connectivity::Online, &ServiceHealth::all_up(), &no_cv);
        assert_eq!(r.mode(Feature::CvOtcSale), Some(Mode::Unavailable));
        // New-patient CII policy Block.
        let block_new = StateProfile {
            offline_new_patient_cii: OfflinePolicy::Block,
            ..StateProfile::federal()
        };
        let r = capabilities(offline(), &down, &block_new);
        assert_eq!(
            r.mode(Feature::ControlledRxNewPatient),
            Some(Mode::Unavailable)
        );
    }

    #[test]
    fn partial_outage_only_pmp_down() {
        let health = ServiceHealth {
            pmp: false,
            ..ServiceHealth::all_up()
        };
        let r = capabilities(Connectivity::Online, &health, &StateProfile::federal());
        for row in &r.rows {
            let pmp_row = matches!(row.feature, Feature::PmpCheck | Feature::PmpReporting);
            assert_eq!(row.mode != Mode::Full, pmp_row, "{:?}", row.feature);
        }
        assert_eq!(r.mode(Feature::PmpCheck), Some(Mode::Degraded));
        let ak = capabilities(Connectivity::Online, &health, &StateProfile::alaska());
        assert_eq!(ak.mode(Feature::PmpCheck), Some(Mode::Unavailable));
        assert_eq!(ak.mode(Feature::ControlledRx), Some(Mode::Full));
    }

    #[test]
    fn single_service_outages_affect_their_rows() {
        type KnockOut = fn(&mut ServiceHealth);
        let cases: [(KnockOut, &[Feature]); 6] = [
            (|h| h.nplex = false, &[Feature::ListedChemicalSale]),
            (|h| h.insurance = false, &[Feature::InsuranceClaims]),
            (|h| h.epcs = false, &[Feature::EpcsRetrieval]),
            (|h| h.substitution_catalog = false, &[Feature::Substitution]),
            (|h| h.forecasting = false, &[Feature::DemandForecast]),
            (
                |h| h.dscsa_verification = false,
                &[Feature::DscsaVerification],
            ),
        ];
        for (knock_out, affected) in cases {
            let mut health = ServiceHealth::all_up();
            knock_out(&mut health);
            let r = capabilities(Connectivity::Online, &health, &StateProfile::federal());
            let got: Vec<Feature> = r.affected().map(|row| row.feature).collect();
            assert_eq!(got, affected);
        }
    }

    #[test]
    fn every_rule_id_is_known() {
        let profiles = [
            StateProfile::federal(),
            StateProfile::texas(),
            StateProfile::alaska(),
        ];
        for profile in &profiles {
            for conn in [Connectivity::Online, offline()] {
                for health in [ServiceHealth::all_up(), ServiceHealth::offline()] {
                    for row in capabilities(conn, &health, profile).rows {
                        for id in &row.rules {
                            assert!(crate::rules::RuleId::ALL.contains(id), "{id}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn mode_severity_order() {
        assert!(Mode::Full < Mode::Degraded);
        assert!(Mode::Degraded < Mode::Limited);
        assert!(Mode::Limited < Mode::Unavailable);
    }

    #[test]
    fn json_serialization() {
        let r = capabilities(offline(), &ServiceHealth::offline(), &StateProfile::texas());
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["offline"], true);
        let pse = &json["rows"][1];
        assert_eq!(pse["feature"], "listed_chemical_sale");
        assert_eq!(pse["mode"], "unavailable");
        assert_eq!(pse["rules"][0], "PSE-DAY-01");
        let text = serde_json::to_string(&r).unwrap();
        let back: CapabilityReport = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
        let h: ServiceHealth =
            serde_json::from_value(serde_json::to_value(ServiceHealth::all_up()).unwrap()).unwrap();
        assert_eq!(h, ServiceHealth::all_up());
        assert_eq!(
            serde_json::to_value(Feature::ControlledRxNewPatient).unwrap(),
            "controlled_rx_new_patient"
        );
    }
}
