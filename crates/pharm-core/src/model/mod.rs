//! The domain model: products, lots, prescriptions and the people around them.
//!
//! Every type here is plain data with serde support; the JSON form is the one the C and
//! Python bindings exchange. Quantities are integer base units (tablets, mL, g as the
//! product's [`DosageUnit`] says), money is [`rust_decimal::Decimal`].

mod drug;
mod lot;
mod party;
mod rx;

pub use drug::{
    CvOtcClass, DosageUnit, DrugClass, ListedChemical, ListedChemicalKind, Package, Product,
    Schedule,
};
pub use lot::{Expiry, Lot, LotStatus};
pub use party::{
    Address, DeaRegistration, Patient, PhotoId, Prescriber, PurchaseRecord, Purchaser,
};
pub use rx::{
    DawCode, DawCodeError, Fill, PartialPathway, Prescription, RxOrigin, SpecialPopulation,
    Transfer,
};
