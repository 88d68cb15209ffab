//! Stable rule identifiers with their legal or practice sources (rule table §9).

use std::fmt;
use std::str::FromStr;

macro_rules! rule_ids {
    ($( $(#[$doc:meta])* $variant:ident = $id:literal, $source:literal; )*) => {
        /// Identifier of one rule of the dispensing rule table. The text form (`"CS2-REFILL-01"`)
        /// is stable: bindings, logs and golden vectors use it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum RuleId {
            $( $(#[$doc])* $variant, )*
        }

        impl RuleId {
            /// Every rule id, in table order.
            pub const ALL: &'static [RuleId] = &[$(RuleId::$variant),*];

            /// The stable text id.
            pub const fn as_str(self) -> &'static str {
                match self { $(RuleId::$variant => $id,)* }
            }

            /// The legal or practice source the rule implements.
            pub const fn source(self) -> &'static str {
                match self { $(RuleId::$variant => $source,)* }
            }
        }

        impl FromStr for RuleId {
            type Err = UnknownRuleId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($id => Ok(RuleId::$variant),)*
                    _ => Err(UnknownRuleId(s.chars().take(64).collect())),
                }
            }
        }
    };
}

/// A rule id text that names no rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a known rule id")]
pub struct UnknownRuleId(pub String);

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::serde_text::text_serde!(RuleId);

rule_ids! {
    /// A record in the request is dated after `now` (beyond the clock-skew tolerance).
    DataFuture01 = "DATA-FUTURE-01", "Record integrity: complete and accurate dispensing records (21 CFR 1304.21(a); 1306.22 refill records)";
    /// A dispense or recorded fill with zero quantity or zero days supply.
    DataZero01 = "DATA-ZERO-01", "Record integrity: quantity and days supply of every dispense (21 CFR 1306.22 refill records; NCPDP 442-E7, 405-D5)";
    /// The history contradicts itself (fill numbers decreasing in time, a fill before the
    /// prescription was written, an issue time on another day than the issue date).
    DataHistory01 = "DATA-HISTORY-01", "Record integrity: refill records in order (21 CFR 1306.22 refill records; NCPDP 403-D3)";
    /// Controlled Rx missing a 1306.05(a) field.
    RxFields01 = "RX-FIELDS-01", "21 CFR 1306.05(a)";
    /// Prescription dated in the future.
    RxPostdated01 = "RX-POSTDATED-01", "21 CFR 1306.05(a)";
    /// Prescriber DEA number malformed.
    DeaFmt01 = "DEA-FMT-01", "21 CFR 1301.11; DEA registration number format";
    /// DEA check digit wrong.
    DeaChk01 = "DEA-CHK-01", "DEA registration number check digit";
    /// DEA second letter does not match the prescriber's last name.
    DeaName01 = "DEA-NAME-01", "DEA registration number format (second character)";
    /// Registration expired, inactive, schedule not covered or cache stale.
    DeaReg01 = "DEA-REG-01", "21 CFR 1306.03; DEA registrant data";
    /// CII received in a form 1306.11 does not allow (oral without emergency, fax outside LTCF/hospice).
    Cs2Form01 = "CS2-FORM-01", "21 CFR 1306.11(a), (d), (f), (g)";
    /// Refill of a CII.
    Cs2Refill01 = "CS2-REFILL-01", "21 CFR 1306.12(a); 21 U.S.C. 829(a)";
    /// CII filled before its earliest fill date.
    Cs2Earliest01 = "CS2-EARLIEST-01", "21 CFR 1306.12(b)";
    /// CII past the state validity period.
    Cs2StateExp01 = "CS2-STATEEXP-01", "State law (e.g. 22 TAC 315.5)";
    /// CII pathway (a) remainder after 72 hours.
    Cs2PartialSupply01 = "CS2-PARTIAL-SUPPLY-01", "21 CFR 1306.13(a)";
    /// CII pathway (b) partial not requested / prohibited by state.
    Cs2PartialReq01 = "CS2-PARTIAL-REQ-01", "21 U.S.C. 829(f)(1)";
    /// CII pathway (b) remainder past 30 days (72 h for emergency oral).
    Cs2PartialReq02 = "CS2-PARTIAL-REQ-02", "21 U.S.C. 829(f)(2); 21 CFR 1306.13(b)";
    /// CII pathway (c) portion past 60 days.
    Cs2PartialLtcf01 = "CS2-PARTIAL-LTCF-01", "21 CFR 1306.13(c)";
    /// CII partial fills exceed the quantity prescribed.
    Cs2PartialTotal01 = "CS2-PARTIAL-TOTAL-01", "21 U.S.C. 829(f)(1)(D); 21 CFR 1306.13";
    /// Emergency oral CII beyond the emergency period / state cap.
    Cs2Emerg01 = "CS2-EMERG-01", "21 CFR 1306.11(d); 10 NYCRR 80.68";
    /// Emergency oral CII follow-up prescription due/overdue.
    Cs2Emerg02 = "CS2-EMERG-02", "21 CFR 1306.11(d)(4)";
    /// Transfer of a CII that is paper, partially filled or already transferred.
    Cs2Xfer01 = "CS2-XFER-01", "21 CFR 1306.08 as amended by 88 FR 48365 (2023)";
    /// CIII/IV filled more than six months after issue.
    Cs346mo01 = "CS34-6MO-01", "21 CFR 1306.22(a)";
    /// CIII/IV refill beyond min(authorized, 5).
    Cs34Refills01 = "CS34-REFILLS-01", "21 CFR 1306.22(a)";
    /// CIII-V partial fills over the total or past six months.
    Cs345Partial01 = "CS345-PARTIAL-01", "21 CFR 1306.23";
    /// CV refill beyond authorization or state limits.
    Cs5Refill01 = "CS5-REFILL-01", "21 CFR 1306.22 (CV as authorized); state law";
    /// CIII-V refill transfer beyond the one-time limit.
    Cs345Xfer01 = "CS345-XFER-01", "21 CFR 1306.25(a)";
    /// CV sold without a prescription outside 1306.26.
    Cs5Otc01 = "CS5-OTC-01", "21 CFR 1306.26";
    /// Mandatory dispenser PMP query missing.
    CsPmp01 = "CS-PMP-01", "State PMP mandate (e.g. Tex. Health & Safety Code 481.0764)";
    /// ID required at pick-up.
    CsPickupId01 = "CS-PICKUP-ID-01", "State law; ASAP AIR segment";
    /// Controlled dispense while offline.
    CsOffline01 = "CS-OFFLINE-01", "pharm offline design: controlled Rx limited, reconciled later";
    /// PMP report due for a handed-over dispense.
    CsPmpReport01 = "CS-PMP-REPORT-01", "State PMP reporting rules (ASAP 4.2)";
    /// Zero report due.
    CsPmpZero01 = "CS-PMP-ZERO-01", "State PMP zero-report rules (e.g. Minnesota, Wis. CSB 4.02)";
    /// Non-controlled prescription expired.
    RxExp01 = "RX-EXP-01", "State law (e.g. 12 AAC 52.470)";
    /// No refills or quantity remaining.
    RxRefills01 = "RX-REFILLS-01", "Prescription authorization (FHIR numberOfRepeatsAllowed)";
    /// Quantity above the per-fill quantity.
    RxQty01 = "RX-QTY-01", "State law on quantity / 90-day conversion";
    /// Refill too soon.
    RxRts01 = "RX-RTS-01", "NCPDP reject 79; payer/store policy";
    /// Days supply inconsistent with quantity and sig.
    RxDs01 = "RX-DS-01", "Audit practice";
    /// Days supply above plan/store maximum.
    RxDs02 = "RX-DS-02", "NCPDP reject 76";
    /// Drug utilization review alert.
    RxDur01 = "RX-DUR-01", "NCPDP DUR/PPS (439-E4, 440-E5, 441-E6)";
    /// Substitution despite DAW 1/7.
    RxDaw01 = "RX-DAW-01", "NCPDP 408-D8";
    /// DAW 0 on a multi-source brand.
    RxDaw02 = "RX-DAW-02", "Payer guidance on DAW codes";
    /// Substitution forbidden by state law.
    RxSubst01 = "RX-SUBST-01", "State substitution law (NTI lists, biologics)";
    /// Expired lot.
    LotExp01 = "LOT-EXP-01", "USP/state law; expired drugs are adulterated (FD&C 501)";
    /// Lot recalled, quarantined, on hold, damaged or destroyed.
    LotStatus01 = "LOT-STATUS-01", "FD&C Act 582 (DSCSA); recall notices";
    /// Lot chosen out of FEFO order.
    LotFefo01 = "LOT-FEFO-01", "FEFO practice";
    /// Lot within its removal lead time.
    LotRemoval01 = "LOT-REMOVAL-01", "FEFO removal date practice";
    /// Lot expires before the end of therapy.
    LotShortdate01 = "LOT-SHORTDATE-01", "Dispensing practice";
    /// Lot quantity / lot combining.
    LotQty01 = "LOT-QTY-01", "Single-lot labelling practice";
    /// Beyond-use date for the label.
    LotBud01 = "LOT-BUD-01", "State law / USP <795>/<797>";
    /// DSCSA verification failed or suspect.
    LotDscsa01 = "LOT-DSCSA-01", "FD&C Act 582(d)";
    /// Dispense would make on-hand negative.
    InvNeg01 = "INV-NEG-01", "Inventory control";
    /// Legend or CII-CIV drug sold over the counter.
    OtcRx01 = "OTC-RX-01", "FD&C Act 503(b); 21 CFR 1306.26";
    /// PSE purchaser photo ID missing.
    PseId01 = "PSE-ID-01", "21 CFR 1314.30(b)(1)";
    /// PSE logbook entry incomplete.
    PseLog01 = "PSE-LOG-01", "21 CFR 1314.30";
    /// PSE daily limit.
    PseDay01 = "PSE-DAY-01", "21 CFR 1314.20(a)";
    /// PSE rolling 30-day limit.
    Pse30d01 = "PSE-30D-01", "21 U.S.C. 844(a); DEA Pharmacist's Manual App. G";
    /// PSE mail-order limit.
    PseMail01 = "PSE-MAIL-01", "21 CFR 1314.20(b), 1314.100";
    /// PSE state rule (Rx-only, annual cap, NPLEx stop-sale).
    PseState01 = "PSE-STATE-01", "State law; NPLEx";
}
