//! Strict reading of internally tagged enums with unit variants.
//!
//! serde reads a unit variant of an internally tagged enum (`{"method": "cash"}`) without
//! looking at the other members, so `{"method": "cash", "payer": "X"}` would load as cash.
//! These mirrors read every unit variant as an empty struct variant, where
//! `deny_unknown_fields` applies; the public enums deserialize through them (their JSON
//! form and schema stay those of the public enums).

use serde::{Deserialize, Deserializer};

use crate::rules::{Connectivity, DscsaCheck, Payment, PmpStatus};
use crate::time::DateTime;

#[derive(Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
enum PaymentRepr {
    Cash {},
    Insurance {
        payer: String,
        rts_percent: u32,
        max_days_supply: u32,
    },
}

impl From<PaymentRepr> for Payment {
    fn from(r: PaymentRepr) -> Self {
        match r {
            PaymentRepr::Cash {} => Payment::Cash,
            PaymentRepr::Insurance {
                payer,
                rts_percent,
                max_days_supply,
            } => Payment::Insurance {
                payer,
                rts_percent,
                max_days_supply,
            },
        }
    }
}

#[derive(Deserialize)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
enum DscsaCheckRepr {
    Verified {},
    Mismatch { detail: String },
    Suspect { detail: String },
    Unavailable {},
}

impl From<DscsaCheckRepr> for DscsaCheck {
    fn from(r: DscsaCheckRepr) -> Self {
        match r {
            DscsaCheckRepr::Verified {} => DscsaCheck::Verified,
            DscsaCheckRepr::Mismatch { detail } => DscsaCheck::Mismatch { detail },
            DscsaCheckRepr::Suspect { detail } => DscsaCheck::Suspect { detail },
            DscsaCheckRepr::Unavailable {} => DscsaCheck::Unavailable,
        }
    }
}

#[derive(Deserialize)]
#[serde(tag = "state", rename_all = "snake_case", deny_unknown_fields)]
enum ConnectivityRepr {
    Online {},
    Offline { since: DateTime },
}

impl From<ConnectivityRepr> for Connectivity {
    fn from(r: ConnectivityRepr) -> Self {
        match r {
            ConnectivityRepr::Online {} => Connectivity::Online,
            ConnectivityRepr::Offline { since } => Connectivity::Offline { since },
        }
    }
}

#[derive(Deserialize)]
#[serde(tag = "state", rename_all = "snake_case", deny_unknown_fields)]
enum PmpStatusRepr {
    NotQueried {},
    Queried { at: DateTime },
    Unavailable { reason: String },
}

impl From<PmpStatusRepr> for PmpStatus {
    fn from(r: PmpStatusRepr) -> Self {
        match r {
            PmpStatusRepr::NotQueried {} => PmpStatus::NotQueried,
            PmpStatusRepr::Queried { at } => PmpStatus::Queried { at },
            PmpStatusRepr::Unavailable { reason } => PmpStatus::Unavailable { reason },
        }
    }
}

macro_rules! deserialize_via {
    ($($public:ty => $repr:ty),* $(,)?) => {$(
        impl<'de> Deserialize<'de> for $public {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <$repr>::deserialize(d).map(Into::into)
            }
        }
    )*};
}

deserialize_via! {
    Payment => PaymentRepr,
    DscsaCheck => DscsaCheckRepr,
    Connectivity => ConnectivityRepr,
    PmpStatus => PmpStatusRepr,
}
