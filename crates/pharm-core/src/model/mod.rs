//! The domain model: products, lots, prescriptions and the people around them.
//!
//! Every type here is plain data with serde support; the JSON form is the one the C and
//! Python bindings exchange. Quantities are integer base units (tablets, mL, g as the
//! product's [`DosageUnit`] says), money is a [`Price`] (an exact, non-negative
//! [`rust_decimal::Decimal`]). Every struct rejects unknown JSON fields, so a misspelled
//! flag fails to parse instead of silently taking its default.

mod drug;
mod history;
mod lot;
mod party;
mod price;
mod rx;

pub use drug::{
    CvOtcClass, DosageUnit, DrugClass, ListedChemical, ListedChemicalKind, Package, Product,
    Schedule,
};
pub use history::{FillHistory, Fills};
pub use lot::{Expiry, Lot, LotStatus};
pub use party::{
    Address, DeaRegistration, Patient, PhotoId, Prescriber, PurchaseRecord, Purchaser,
};
pub use price::{Price, PriceError};
pub use rx::{
    DawCode, DawCodeError, EmergencyFollowUp, Fill, PartialPathway, Prescription, RxOrigin,
    SpecialPopulation, Transfer,
};
