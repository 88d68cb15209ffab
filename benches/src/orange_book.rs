//! A synthetic, full-size FDA Orange Book `products.txt` and the helpers that the
//! `substitution` benchmark and the `subst-memory` binary share.
//!
//! [`generate_products_txt`] writes a file with the header, delimiter and mix of the real
//! FDA `products.txt`: about 2,500 drug "molecules" (ingredient
//! sets, with salts and some combinations), each with 1–4 dosage forms and 1–6 strengths;
//! per form a brand NDA (`RLD=Yes`) plus a heavy-tailed number of ANDA generics (many
//! single-source drugs, a median of a few generics, a few groups of 25–40 like
//! atorvastatin); TE codes mostly `AB`, some `AA`/`AT`/`AP`/`AN`, about 1 % B codes,
//! about 1 % of the groups multi-coded like levothyroxine (`AB1,AB2` …) and about 1 % with
//! two numbered reference drugs like Cialis `AB1` / Adcirca `AB2`; about 35 % `DISCN` and
//! 5 % `OTC` rows with a blank TE code; real strength spellings (`EQ 10MG BASE`,
//! `325MG;50MG`, `50,000 IU`, multi-phase, the ` **Federal Register determination…**` and
//! ` **See current Annual Edition…` notes, a few trailing spaces) and both approval-date
//! forms. The first molecules are real ones (atorvastatin, levothyroxine, tadalafil,
//! Caduet, potassium chloride ER, ergocalciferol, a phased contraceptive) so a benchmark
//! can ask about familiar products; the rest are invented.
//!
//! Everything is deterministic: the same seed and row count give the same bytes.
//!
//! [`sqlite`] holds the "obvious alternative": the same products in an in-memory SQLite
//! database queried with one prepared statement.

pub mod sqlite;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use pharm_subst::catalog::{Catalog, DuplicateKey};
use pharm_subst::policy::{Market, MarketFacts};
use pharm_subst::products::{
    ParseLimits, ParseMode, ParsedProducts, ProductsError, parse_products,
};
use pharm_subst::record::{MarketingStatus, ObProduct, ProductKey};
use rust_decimal::Decimal;

use crate::rng::XorShift64;

/// The current 14-column `products.txt` header, verbatim.
pub const HEADER: &str = "Ingredient~DF;Route~Trade_Name~Applicant~Strength~Appl_Type~Appl_No~Product_No~TE_Code~Approval_Date~RLD~RS~Type~Applicant_Full_Name";

/// Row count of a full-size file (the mid-2026 release has about 50–57k rows).
pub const DEFAULT_ROWS: usize = 55_000;

/// Seed of the benchmark's file.
pub const DEFAULT_SEED: u64 = 0x0B0B_2026_0527;

/// Largest row count [`generate_products_txt`] accepts.
pub const MAX_ROWS: usize = 1_000_000;

const FR_NOTE: &str = " **Federal Register determination that product was not discontinued or withdrawn for safety or effectiveness reasons**";

/// A synthetic `products.txt` with `rows` data rows (plus the header), LF line ends.
///
/// # Panics
///
/// If `rows` is more than [`MAX_ROWS`].
pub fn generate_products_txt(seed: u64, rows: usize) -> String {
    assert!(rows <= MAX_ROWS, "at most {MAX_ROWS} rows");
    let mut g = Gen::new(seed);
    for plan in seed_plans(&g) {
        if g.rows.len() >= rows {
            break;
        }
        g.emit(&plan);
    }
    while g.rows.len() < rows {
        g.synthetic_molecule();
    }
    g.rows.truncate(rows);
    g.render()
}

/// Why a generated file could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// The parser refused the file.
    Parse(ProductsError),
    /// Two rows with one key.
    Duplicate(DuplicateKey),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Parse(e) => write!(f, "parse: {e}"),
            LoadError::Duplicate(e) => write!(f, "build: {e}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// Parses `products.txt` text in strict mode with the default limits.
pub fn parse_strict(text: &str) -> Result<ParsedProducts, LoadError> {
    parse_products(text.as_bytes(), ParseMode::Strict, &ParseLimits::default())
        .map_err(LoadError::Parse)
}

/// Parses `products.txt` text in strict mode and builds the catalog: the load path the
/// `load/parse_and_build` benchmark times.
pub fn load_catalog(text: &str) -> Result<Catalog, LoadError> {
    let parsed = parse_strict(text)?;
    Catalog::build(parsed.products).map_err(LoadError::Duplicate)
}

// ---------------------------------------------------------------------------------------
// Static tables
// ---------------------------------------------------------------------------------------

/// How a form's strength is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// `10MG`, `EQ 10MG BASE`.
    Solid,
    /// `10MG/5ML`.
    OralLiquid,
    /// `10MG/ML`.
    PerMl,
    /// `EQ 500MG BASE/VIAL`, `1GM/VIAL`.
    Vial,
    /// `0.05%`.
    Percent,
    /// `EQ 0.09MG BASE/INH`.
    Inhaler,
    /// `0.05MG/SPRAY`.
    Nasal,
    /// `0.1MG/24HR`.
    Transdermal,
}

/// Which A code a form's products carry, and which B code a poorly rated one gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// `AB`, or `AA` for a sixth of the older conventional oral forms.
    Oral,
    /// Oral solutions: mostly `AA`.
    Solution,
    /// `AP` (`AO` for some intramuscular oils).
    Injectable,
    /// `AT` or `AB`.
    Topical,
    /// `AN`.
    Nebulized,
    /// `AB`.
    Ab,
}

#[derive(Debug, Clone, Copy)]
struct FormSpec {
    df_route: &'static str,
    style: Style,
    family: Family,
    /// Extended release (`BC` when B-rated, a brand suffix).
    er: bool,
}

/// A weighted list of dosage forms.
type Forms = &'static [(FormSpec, u32)];

const fn f(df_route: &'static str, style: Style, family: Family, er: bool) -> FormSpec {
    FormSpec {
        df_route,
        style,
        family,
        er,
    }
}

const TABLET: FormSpec = f("TABLET;ORAL", Style::Solid, Family::Oral, false);
const CAPSULE: FormSpec = f("CAPSULE;ORAL", Style::Solid, Family::Oral, false);
const TABLET_ER: FormSpec = f(
    "TABLET, EXTENDED RELEASE;ORAL",
    Style::Solid,
    Family::Oral,
    true,
);

const ORAL_EXTRA: &[(FormSpec, u32)] = &[
    (TABLET, 20),
    (CAPSULE, 12),
    (TABLET_ER, 14),
    (
        f(
            "CAPSULE, EXTENDED RELEASE;ORAL",
            Style::Solid,
            Family::Oral,
            true,
        ),
        8,
    ),
    (
        f(
            "TABLET, DELAYED RELEASE;ORAL",
            Style::Solid,
            Family::Oral,
            false,
        ),
        6,
    ),
    (
        f(
            "CAPSULE, DELAYED RELEASE;ORAL",
            Style::Solid,
            Family::Oral,
            false,
        ),
        4,
    ),
    (
        f(
            "TABLET, ORALLY DISINTEGRATING;ORAL",
            Style::Solid,
            Family::Oral,
            false,
        ),
        5,
    ),
    (
        f("TABLET, CHEWABLE;ORAL", Style::Solid, Family::Oral, false),
        3,
    ),
    (
        f(
            "TABLET, FILM COATED;ORAL",
            Style::Solid,
            Family::Oral,
            false,
        ),
        2,
    ),
    (
        f(
            "TABLET;BUCCAL, SUBLINGUAL",
            Style::Solid,
            Family::Oral,
            false,
        ),
        1,
    ),
    (
        f("SOLUTION;ORAL", Style::OralLiquid, Family::Solution, false),
        8,
    ),
    (
        f("SUSPENSION;ORAL", Style::OralLiquid, Family::Ab, false),
        4,
    ),
    (
        f("FOR SUSPENSION;ORAL", Style::OralLiquid, Family::Ab, false),
        3,
    ),
    (
        f(
            "INJECTABLE;INJECTION",
            Style::PerMl,
            Family::Injectable,
            false,
        ),
        4,
    ),
];

const INJECTABLE_FORMS: &[(FormSpec, u32)] = &[
    (
        f(
            "INJECTABLE;INJECTION",
            Style::PerMl,
            Family::Injectable,
            false,
        ),
        45,
    ),
    (
        f(
            "SOLUTION;INTRAVENOUS",
            Style::PerMl,
            Family::Injectable,
            false,
        ),
        15,
    ),
    (
        f("POWDER;INTRAVENOUS", Style::Vial, Family::Injectable, false),
        12,
    ),
    (
        f(
            "INJECTABLE;INTRAMUSCULAR, INTRAVENOUS",
            Style::Vial,
            Family::Injectable,
            false,
        ),
        10,
    ),
    (
        f(
            "INJECTABLE;SUBCUTANEOUS",
            Style::PerMl,
            Family::Injectable,
            false,
        ),
        10,
    ),
    (
        f(
            "INJECTABLE;INTRAMUSCULAR",
            Style::PerMl,
            Family::Injectable,
            false,
        ),
        5,
    ),
    (
        f(
            "EMULSION;INTRAVENOUS",
            Style::PerMl,
            Family::Injectable,
            false,
        ),
        2,
    ),
    (
        f(
            "INJECTABLE, LIPOSOMAL;INTRAVENOUS",
            Style::PerMl,
            Family::Injectable,
            false,
        ),
        1,
    ),
];

const TOPICAL_FORMS: &[(FormSpec, u32)] = &[
    (
        f("CREAM;TOPICAL", Style::Percent, Family::Topical, false),
        30,
    ),
    (
        f("OINTMENT;TOPICAL", Style::Percent, Family::Topical, false),
        20,
    ),
    (f("GEL;TOPICAL", Style::Percent, Family::Topical, false), 15),
    (
        f("LOTION;TOPICAL", Style::Percent, Family::Topical, false),
        10,
    ),
    (
        f("SOLUTION;TOPICAL", Style::Percent, Family::Topical, false),
        10,
    ),
    (
        f(
            "AEROSOL, FOAM;TOPICAL",
            Style::Percent,
            Family::Topical,
            false,
        ),
        6,
    ),
    (
        f("SHAMPOO;TOPICAL", Style::Percent, Family::Topical, false),
        4,
    ),
    (
        f("SPRAY;TOPICAL", Style::Percent, Family::Topical, false),
        5,
    ),
];

const OPHTHALMIC_FORMS: &[(FormSpec, u32)] = &[
    (
        f(
            "SOLUTION/DROPS;OPHTHALMIC",
            Style::Percent,
            Family::Topical,
            false,
        ),
        60,
    ),
    (
        f(
            "SUSPENSION/DROPS;OPHTHALMIC",
            Style::Percent,
            Family::Topical,
            false,
        ),
        20,
    ),
    (
        f(
            "OINTMENT;OPHTHALMIC",
            Style::Percent,
            Family::Topical,
            false,
        ),
        12,
    ),
    (
        f(
            "EMULSION;OPHTHALMIC",
            Style::Percent,
            Family::Topical,
            false,
        ),
        8,
    ),
];

const INHALATION_FORMS: &[(FormSpec, u32)] = &[
    (
        f(
            "AEROSOL, METERED;INHALATION",
            Style::Inhaler,
            Family::Ab,
            false,
        ),
        35,
    ),
    (
        f(
            "SOLUTION;INHALATION",
            Style::Percent,
            Family::Nebulized,
            false,
        ),
        25,
    ),
    (
        f("POWDER;INHALATION", Style::Inhaler, Family::Ab, false),
        15,
    ),
    (
        f("SPRAY, METERED;NASAL", Style::Nasal, Family::Ab, false),
        25,
    ),
];

const OTHER_FORMS: &[(FormSpec, u32)] = &[
    (f("SUPPOSITORY;RECTAL", Style::Solid, Family::Ab, false), 20),
    (
        f(
            "FILM, EXTENDED RELEASE;TRANSDERMAL",
            Style::Transdermal,
            Family::Ab,
            true,
        ),
        20,
    ),
    (
        f("SYSTEM;TRANSDERMAL", Style::Transdermal, Family::Ab, true),
        10,
    ),
    (f("CREAM;VAGINAL", Style::Percent, Family::Ab, false), 10),
    (f("GEL;VAGINAL", Style::Percent, Family::Ab, false), 8),
    (f("TABLET;VAGINAL", Style::Solid, Family::Ab, false), 8),
    (f("ENEMA;RECTAL", Style::Solid, Family::Ab, false), 6),
    (f("FILM;BUCCAL", Style::Solid, Family::Ab, false), 6),
    (
        f("POWDER;FOR RX COMPOUNDING", Style::Solid, Family::Ab, false),
        4,
    ),
    (f("TABLET;SUBLINGUAL", Style::Solid, Family::Ab, false), 8),
];

/// Solid-form strength ladders, in thousandths of a milligram.
const SOLID_LADDERS: &[&[u32]] = &[
    &[250, 500, 1_000, 2_000, 4_000, 8_000],
    &[1_000, 2_000, 5_000, 10_000, 20_000, 40_000, 80_000],
    &[2_500, 5_000, 10_000, 20_000, 40_000, 80_000],
    &[25_000, 50_000, 100_000, 150_000, 200_000, 300_000, 400_000],
    &[100_000, 200_000, 400_000, 600_000, 800_000, 1_000_000],
    &[125_000, 250_000, 500_000, 750_000, 875_000, 1_000_000],
    &[5_000, 10_000, 15_000, 30_000, 45_000, 60_000],
    &[12_500, 25_000, 50_000, 100_000, 150_000, 200_000],
    &[1_000, 1_500, 2_000, 3_000, 4_000, 6_000],
    &[10_000, 20_000, 40_000, 60_000, 80_000, 120_000],
    &[50, 100, 200, 300, 500, 1_000],
    &[300_000, 500_000, 600_000, 800_000, 1_000_000, 1_200_000],
];
const PER_ML: &[u32] = &[1_000, 2_000, 4_000, 10_000, 20_000, 40_000, 50_000, 100_000];
const VIAL: &[u32] = &[100_000, 250_000, 500_000, 1_000_000, 2_000_000, 10_000_000];
const PERCENT: &[u32] = &[25, 50, 100, 250, 500, 1_000, 2_000, 2_500, 5_000];
const NEBULIZER: &[u32] = &[21, 42, 83, 250, 500, 1_000];
const INHALER: &[u32] = &[45, 90, 108, 160, 250, 500];
const NASAL: &[u32] = &[25, 50, 100, 137, 200];
const TRANSDERMAL: &[u32] = &[100, 200, 400, 600, 800, 1_000];

const SALTS: &[(&str, u32)] = &[
    ("HYDROCHLORIDE", 30),
    ("SODIUM", 14),
    ("CALCIUM", 5),
    ("POTASSIUM", 5),
    ("MALEATE", 4),
    ("BESYLATE", 2),
    ("MESYLATE", 4),
    ("SUCCINATE", 3),
    ("TARTRATE", 3),
    ("CITRATE", 3),
    ("ACETATE", 5),
    ("PHOSPHATE", 4),
    ("SULFATE", 5),
    ("FUMARATE", 3),
    ("HYDROBROMIDE", 3),
    ("BROMIDE", 2),
    ("MAGNESIUM", 2),
    ("DIHYDROCHLORIDE", 2),
    ("HYCLATE", 1),
];

const STEM_A: &[&str] = &[
    "AB", "AC", "AL", "AM", "AN", "AR", "AZ", "BE", "BI", "BU", "CA", "CE", "CI", "CLO", "DA",
    "DE", "DI", "DO", "DU", "EF", "EN", "ER", "ES", "ET", "FA", "FE", "FI", "FLU", "FO", "GA",
    "GLI", "HA", "HY", "IB", "IM", "IN", "IR", "KE", "LA", "LE", "LI", "LO", "LU", "MA", "ME",
    "MI", "MO", "NA", "NE", "NI", "NO", "OL", "OX", "PA", "PE", "PI", "PRA", "PRO", "QUE", "RA",
    "RE", "RI", "RO", "SA", "SE", "SI", "SO", "SU", "TA", "TE", "TI", "TO", "TRA", "VA", "VE",
    "VI", "VO", "ZA", "ZI", "ZO",
];
const STEM_B: &[&str] = &[
    "", "BA", "CA", "DO", "FE", "LA", "LO", "MI", "NI", "PA", "RE", "RO", "SI", "TA", "TI", "VA",
    "XA", "ZE",
];
const STEM_C: &[&str] = &[
    "STATIN",
    "PRIL",
    "SARTAN",
    "OLOL",
    "DIPINE",
    "AZOLE",
    "CYCLINE",
    "MYCIN",
    "FLOXACIN",
    "TIDINE",
    "PRAZOLE",
    "GLIPTIN",
    "AZEPAM",
    "OXETINE",
    "TRIPTAN",
    "VIR",
    "CONAZOLE",
    "SETRON",
    "LUKAST",
    "FIBRATE",
    "TEROL",
    "SONE",
    "OLONE",
    "PINE",
    "DRONATE",
    "PAMIL",
    "TADINE",
    "CILLIN",
    "CEFTINE",
    "ZOSIN",
    "LAMIDE",
    "PRIDE",
    "ZOLAM",
    "XABAN",
    "GREL",
    "PARIN",
    "METHASONE",
    "DOPA",
    "FENAC",
    "PROFEN",
];
const BRAND_A: &[&str] = &[
    "ZO", "LI", "PRA", "VEX", "TRI", "NOR", "CAL", "DEX", "FLO", "MAX", "QUE", "RA", "TOR", "VAN",
    "XA", "ZY", "BRI", "KEP", "LUM", "NEX", "OP", "PLA", "SYN", "TRU", "VY", "XEL", "AB", "EL",
    "IN", "ON",
];
const BRAND_B: &[&str] = &[
    "IX", "OR", "ENA", "ARA", "ID", "ON", "EX", "AL", "YN", "OS", "ITOR", "IA", "ZA", "VO", "RA",
    "ENT",
];
const ER_SUFFIX: &[&str] = &[" XR", " XL", " ER", " CR", " SR", " LA"];

/// Real generic firms: (short applicant, full name).
const REAL_GENERICS: &[(&str, &str)] = &[
    ("MYLAN PHARMS INC", "MYLAN PHARMACEUTICALS INC"),
    ("TEVA PHARMS USA", "TEVA PHARMACEUTICALS USA INC"),
    ("SUN PHARM INDS LTD", "SUN PHARMACEUTICAL INDUSTRIES LTD"),
    ("AUROBINDO PHARMA LTD", "AUROBINDO PHARMA LTD"),
    ("ZYDUS PHARMS", "ZYDUS PHARMACEUTICALS USA INC"),
    ("LUPIN LTD", "LUPIN LTD"),
    ("ACCORD HLTHCARE", "ACCORD HEALTHCARE INC"),
    ("APOTEX INC", "APOTEX INC"),
    ("DR REDDYS LABS LTD", "DR REDDYS LABORATORIES LTD"),
    ("CIPLA", "CIPLA LTD"),
    ("AMNEAL PHARMS", "AMNEAL PHARMACEUTICALS LLC"),
    ("ALEMBIC PHARMS LTD", "ALEMBIC PHARMACEUTICALS LTD"),
    ("TORRENT", "TORRENT PHARMACEUTICALS LTD"),
    ("MACLEODS PHARMS LTD", "MACLEODS PHARMACEUTICALS LTD"),
    ("GLENMARK PHARMS LTD", "GLENMARK PHARMACEUTICALS LTD"),
    ("HETERO LABS LTD V", "HETERO LABS LTD UNIT V"),
    ("MICRO LABS", "MICRO LABS LTD"),
    ("SANDOZ", "SANDOZ INC"),
    ("HIKMA", "HIKMA PHARMACEUTICALS USA INC"),
    ("PAR PHARM", "PAR PHARMACEUTICAL INC"),
    (
        "WATSON LABS",
        "WATSON LABORATORIES INC AN INDIRECT WHOLLY OWNED SUB OF TEVA PHARMACEUTICALS USA INC",
    ),
    ("UMEDICA", "UMEDICA LABORATORIES PRIVATE LTD"),
    ("ASCENT PHARMS INC", "ASCENT PHARMACEUTICALS INC"),
    ("LUPIN", "LUPIN INC"),
    ("MYLAN", "MYLAN PHARMACEUTICALS INC"),
    ("ALEMBIC", "ALEMBIC PHARMACEUTICALS LTD"),
    ("AUROLIFE PHARMA LLC", "AUROLIFE PHARMA LLC"),
    ("ANNORA PHARMA", "ANNORA PHARMA PRIVATE LTD"),
    ("AJANTA PHARMA LTD", "AJANTA PHARMA LTD"),
    ("ALKEM LABS LTD", "ALKEM LABORATORIES LTD"),
    ("UNICHEM", "UNICHEM LABORATORIES LTD"),
    ("STRIDES PHARMA", "STRIDES PHARMA GLOBAL PTE LTD"),
    ("GRANULES", "GRANULES INDIA LTD"),
    ("JUBILANT CADISTA", "JUBILANT CADISTA PHARMACEUTICALS INC"),
    ("NOVITIUM PHARMA", "NOVITIUM PHARMA LLC"),
    ("AIZANT", "AIZANT DRUG RESEARCH SOLUTIONS PRIVATE LTD"),
    ("CARNEGIE", "CARNEGIE PHARMACEUTICALS LLC"),
    ("RUBICON RESEARCH", "RUBICON RESEARCH PRIVATE LTD"),
    ("INGENUS PHARMS LLC", "INGENUS PHARMACEUTICALS LLC"),
    ("CHARTWELL RX", "CHARTWELL RX LLC"),
    ("EPIC PHARMA LLC", "EPIC PHARMA LLC"),
    ("FRESENIUS KABI USA", "FRESENIUS KABI USA LLC"),
    ("GLAND PHARMA LTD", "GLAND PHARMA LTD"),
    ("BAXTER HLTHCARE", "BAXTER HEALTHCARE CORP"),
    ("HOSPIRA", "HOSPIRA INC"),
    ("SAGENT PHARMS", "SAGENT PHARMACEUTICALS INC"),
    ("PERRIGO", "PERRIGO CO"),
    ("TARO", "TARO PHARMACEUTICAL INDUSTRIES LTD"),
    ("SPIL", "SUN PHARMACEUTICAL INDUSTRIES LTD"),
    ("SUN PHARM", "SUN PHARMACEUTICAL INDUSTRIES INC"),
];

/// Real brand firms: (short applicant, full name).
const REAL_BRANDS: &[(&str, &str)] = &[
    ("UPJOHN", "UPJOHN MANUFACTURING IRELAND UNLTD"),
    ("PFIZER", "PFIZER INC"),
    ("ABBVIE", "ABBVIE INC"),
    ("LILLY", "ELI LILLY AND CO"),
    ("ELI LILLY CO", "ELI LILLY CO"),
    ("MERCK SHARP DOHME", "MERCK SHARP AND DOHME LLC"),
    ("NOVARTIS", "NOVARTIS PHARMACEUTICALS CORP"),
    ("ASTRAZENECA", "ASTRAZENECA PHARMACEUTICALS LP"),
    ("GLAXOSMITHKLINE", "GLAXOSMITHKLINE"),
    ("BRISTOL MYERS SQUIBB", "BRISTOL MYERS SQUIBB CO"),
    ("JANSSEN PHARMS", "JANSSEN PHARMACEUTICALS INC"),
    ("PHARMACIA", "PHARMACIA AND UPJOHN CO LLC"),
    ("ORGANON", "ORGANON LLC A SUB OF ORGANON AND CO"),
    ("STEVENS J", "JEROME STEVENS PHARMACEUTICALS INC"),
    (
        "KING PHARMS",
        "KING PHARMACEUTICALS RESEARCH AND DEVELOPMENT LLC",
    ),
    ("CEDIPROF INC", "CEDIPROF INC"),
    (
        "BOEHRINGER INGELHEIM",
        "BOEHRINGER INGELHEIM PHARMACEUTICALS INC",
    ),
    ("SANOFI AVENTIS US", "SANOFI AVENTIS US LLC"),
    ("BAYER HLTHCARE", "BAYER HEALTHCARE PHARMACEUTICALS INC"),
    ("TAKEDA PHARMS USA", "TAKEDA PHARMACEUTICALS USA INC"),
    ("GILEAD SCIENCES INC", "GILEAD SCIENCES INC"),
    ("ABBOTT", "ABBOTT LABORATORIES"),
    ("ALLERGAN", "ALLERGAN INC"),
    (
        "VALEANT PHARMS INTL",
        "VALEANT PHARMACEUTICALS INTERNATIONAL",
    ),
    ("SHIRE", "SHIRE DEVELOPMENT LLC"),
    ("OTSUKA", "OTSUKA PHARMACEUTICAL CO LTD"),
    ("DAIICHI SANKYO", "DAIICHI SANKYO INC"),
    ("ASTELLAS", "ASTELLAS PHARMA US INC"),
    ("BLUEPRINT MEDICINES", "BLUEPRINT MEDICINES CORP"),
    (
        "WYETH PHARMS",
        "WYETH PHARMACEUTICALS LLC A SUB OF PFIZER INC",
    ),
    ("HOFFMANN LA ROCHE", "HOFFMANN LA ROCHE INC"),
    ("SUPERNUS PHARMS", "SUPERNUS PHARMACEUTICALS INC"),
    ("SALIX PHARMS", "SALIX PHARMACEUTICALS INC"),
    ("MALLINCKRODT", "MALLINCKRODT LLC"),
    ("VALIDUS PHARMS", "VALIDUS PHARMACEUTICALS LLC"),
    ("ALMATICA", "ALMATICA PHARMA LLC"),
    ("BAUSCH", "BAUSCH HEALTH US LLC"),
    (
        "MCNEIL CONS",
        "MCNEIL CONSUMER HEALTHCARE DIV MCNEIL PPC INC",
    ),
    ("HALEON US HOLDINGS", "HALEON US HOLDINGS LLC"),
    ("CHATTEM SANOFI", "CHATTEM INC"),
    ("VALIDUS", "VALIDUS PHARMACEUTICALS LLC"),
];

const FIRM_A: &[&str] = &[
    "NOVA", "AXI", "BIO", "CURE", "DELTA", "EVER", "GEN", "HELIX", "ION", "JADE", "KAPPA", "LUMEN",
    "MERI", "NEXA", "ORBI", "PRIME", "QUANTA", "RIVA", "SOLA", "TERRA", "UNI", "VITA", "WELL",
    "XENO", "YARA", "ZEN",
];
const FIRM_B: &[&str] = &[
    "GEN", "MED", "PHARM", "CARE", "LIFE", "CHEM", "VANCE", "TECH", "CORE", "RX", "LINK", "SCI",
];
const FIRM_SUFFIX: &[(&str, &str)] = &[
    ("PHARMS", "PHARMACEUTICALS INC"),
    ("PHARMS INC", "PHARMACEUTICALS INC"),
    ("LABS", "LABORATORIES LTD"),
    ("LABS LTD", "LABORATORIES LTD"),
    ("HLTHCARE", "HEALTHCARE LLC"),
    ("PHARMA", "PHARMA PRIVATE LTD"),
    ("PHARMA LLC", "PHARMA LLC"),
    ("", "INC"),
];

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

// ---------------------------------------------------------------------------------------
// Plans: one (ingredients, dosage form) with its brands and generics
// ---------------------------------------------------------------------------------------

/// Numbering of the TE codes in one (molecule, form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    /// One reference: every A-rated product carries the plain code (`AB`).
    Single,
    /// Two references (Cialis `AB1` / Adcirca `AB2`): brand `i` is `AB{i+1}`; each ANDA
    /// references one of them.
    TwoRld,
    /// Levothyroxine style: `k` references, products carry sets such as `AB1,AB2`.
    MultiCode(u8),
}

#[derive(Debug, Clone)]
struct BrandPlan {
    trade_name: String,
    applicant: u32,
    rld: bool,
    /// Indices into the plan's strengths.
    strengths: Vec<usize>,
    /// Reference numbers carried (empty: the plain code).
    codes: Vec<u8>,
    year: u32,
    /// The real application number (seed molecules); drawn at random otherwise.
    appl_no: Option<u32>,
}

#[derive(Debug, Clone)]
struct Plan {
    ingredient: String,
    generic_name: String,
    form: FormSpec,
    strengths: Vec<String>,
    brands: Vec<BrandPlan>,
    /// Fixed generic code sets (multi-code seeds); drawn at random when empty.
    generic_codes: Vec<Vec<u8>>,
    generics: usize,
    scheme: Scheme,
    /// Plain A code (`AB`, `AA`, `AP` …).
    family: &'static str,
    otc: bool,
    all_discn: bool,
    /// Percent chance that a brand strength is discontinued.
    brand_discn: u32,
    /// ` **See current Annual Edition…` note on the multi-coded rows.
    special_note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    Rx,
    Otc,
    Discn,
}

#[derive(Debug, Clone)]
struct Row {
    ingredient: String,
    df_route: &'static str,
    trade_name: String,
    applicant: u32,
    strength: String,
    strength_rank: usize,
    nda: bool,
    appl_no: u32,
    product_no: u16,
    te: String,
    approval: String,
    rld: bool,
    rs: bool,
    status: Status,
}

struct Firm {
    short: String,
    full: String,
}

struct Gen {
    rng: XorShift64,
    rows: Vec<Row>,
    firms: Vec<Firm>,
    /// `firms[..brand_firms]` are brand companies, the rest generic companies.
    brand_firms: usize,
    used_nda: HashSet<u32>,
    used_anda: HashSet<u32>,
    next_overflow: u32,
    molecule_names: HashSet<String>,
    brand_names: HashSet<String>,
    /// Single-ingredient molecules made so far (name, salted, ladder) for combinations.
    singles: Vec<(String, bool, usize)>,
}

fn unit(rng: &mut XorShift64) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
}

fn per_mille(rng: &mut XorShift64, n: u32) -> bool {
    rng.below(1000) < n
}

fn pick<T: Copy>(rng: &mut XorShift64, items: &[T]) -> T {
    items[rng.index(items.len())]
}

fn weighted<T: Copy>(rng: &mut XorShift64, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|&(_, w)| w).sum();
    let mut r = rng.below(total);
    for &(item, w) in items {
        if r < w {
            return item;
        }
        r -= w;
    }
    items[items.len() - 1].0
}

/// `0.025`, `10`, `2.5` from thousandths.
fn milli(v: u32) -> String {
    let (int, frac) = (v / 1000, v % 1000);
    if frac == 0 {
        int.to_string()
    } else {
        let f = format!("{frac:03}");
        format!("{int}.{}", f.trim_end_matches('0'))
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `Mon D, YYYY`, or the pre-1982 literal.
fn approval_text(rng: &mut XorShift64, year: u32) -> String {
    if year < 1982 {
        return "Approved Prior to Jan 1, 1982".to_string();
    }
    let month = if year >= 2026 {
        rng.range(1, 5)
    } else {
        rng.range(1, 12)
    };
    let last = if year >= 2026 && month == 5 {
        27
    } else {
        days_in_month(year, month)
    };
    let day = rng.range(1, last);
    format!("{} {day}, {year}", MONTHS[(month - 1) as usize])
}

fn title_case(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(first) => first.to_string() + &c.as_str().to_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Heavy-tailed number of ANDA applicants for one (molecule, form): a fifth single-source,
/// a median of two or three, a few dozen groups of 25–40.
fn generic_count(rng: &mut XorShift64) -> usize {
    if rng.chance(18) {
        return 0;
    }
    let g = (1.6 / unit(rng).powf(0.85)).floor() as usize;
    if g > 40 { 25 + rng.index(16) } else { g.max(1) }
}

fn strength_amount(style: Style, v: u32, eq: bool) -> String {
    let n = milli(v);
    match (style, eq) {
        (Style::Solid, true) => format!("EQ {n}MG BASE"),
        (Style::Solid, false) => format!("{n}MG"),
        (Style::OralLiquid, true) => format!("EQ {n}MG BASE/5ML"),
        (Style::OralLiquid, false) => format!("{n}MG/5ML"),
        (Style::PerMl, true) => format!("EQ {n}MG BASE/ML"),
        (Style::PerMl, false) => format!("{n}MG/ML"),
        (Style::Vial, eq) => {
            let amount = if v >= 1_000_000 {
                format!("{}GM", milli(v / 1000))
            } else {
                format!("{n}MG")
            };
            if eq {
                format!("EQ {amount} BASE/VIAL")
            } else {
                format!("{amount}/VIAL")
            }
        }
        (Style::Percent, _) => format!("{n}%"),
        (Style::Inhaler, true) => format!("EQ {n}MG BASE/INH"),
        (Style::Inhaler, false) => format!("{n}MG/INH"),
        (Style::Nasal, _) => format!("{n}MG/SPRAY"),
        (Style::Transdermal, _) => format!("{n}MG/24HR"),
    }
}

fn style_ladder(style: Style, family: Family, solid: usize) -> &'static [u32] {
    match style {
        Style::Solid | Style::OralLiquid => SOLID_LADDERS[solid % SOLID_LADDERS.len()],
        Style::PerMl => PER_ML,
        Style::Vial => VIAL,
        Style::Percent if family == Family::Nebulized => NEBULIZER,
        Style::Percent => PERCENT,
        Style::Inhaler => INHALER,
        Style::Nasal => NASAL,
        Style::Transdermal => TRANSDERMAL,
    }
}

fn b_code(rng: &mut XorShift64, form: &FormSpec) -> &'static str {
    if form.er {
        return "BC";
    }
    match form.family {
        Family::Topical => "BT",
        Family::Nebulized => "BN",
        Family::Injectable => "BP",
        _ => weighted(rng, &[("BX", 70), ("BP", 15), ("BD", 10), ("BE", 5)]),
    }
}

fn codes_text(family: &str, codes: &[u8]) -> String {
    if codes.is_empty() {
        return family.to_string();
    }
    let mut sorted = codes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted
        .iter()
        .map(|n| format!("{family}{n}"))
        .collect::<Vec<_>>()
        .join(",")
}

impl Gen {
    fn new(seed: u64) -> Self {
        let mut rng = XorShift64::new(seed ^ 0x6F72_616E_6765_626B);
        let mut firms: Vec<Firm> = REAL_BRANDS
            .iter()
            .map(|&(s, f)| Firm {
                short: s.to_string(),
                full: f.to_string(),
            })
            .collect();
        let mut names: HashSet<String> = firms.iter().map(|f| f.short.clone()).collect();
        let mut add_synthetic = |firms: &mut Vec<Firm>, rng: &mut XorShift64, n: usize| {
            let mut made = 0;
            while made < n {
                let word = format!("{}{}", pick(rng, FIRM_A), pick(rng, FIRM_B));
                let (s, f) = pick(rng, FIRM_SUFFIX);
                let short = if s.is_empty() {
                    word.clone()
                } else {
                    format!("{word} {s}")
                };
                if names.insert(short.clone()) {
                    firms.push(Firm {
                        short,
                        full: format!("{word} {f}"),
                    });
                    made += 1;
                }
            }
        };
        add_synthetic(&mut firms, &mut rng, 60);
        let brand_firms = firms.len();
        for &(s, f) in REAL_GENERICS {
            firms.push(Firm {
                short: s.to_string(),
                full: f.to_string(),
            });
        }
        add_synthetic(&mut firms, &mut rng, 230);
        Gen {
            rng,
            rows: Vec::with_capacity(DEFAULT_ROWS + 64),
            firms,
            brand_firms,
            used_nda: HashSet::new(),
            used_anda: HashSet::new(),
            next_overflow: 220_000,
            molecule_names: HashSet::new(),
            brand_names: HashSet::new(),
            singles: Vec::new(),
        }
    }

    fn firm(&self, short: &str) -> u32 {
        self.firms
            .iter()
            .position(|f| f.short == short)
            .unwrap_or(0) as u32
    }

    /// A brand company, the big ones more often.
    fn brand_firm(&mut self) -> u32 {
        let u = unit(&mut self.rng);
        ((self.brand_firms as f64 * u * u) as usize).min(self.brand_firms - 1) as u32
    }

    /// A generic company, the big ones (Teva, Mylan, Sun …) far more often.
    fn generic_firm(&mut self) -> u32 {
        let n = self.firms.len() - self.brand_firms;
        let u = unit(&mut self.rng);
        (self.brand_firms + ((n as f64 * u.powf(2.2)) as usize).min(n - 1)) as u32
    }

    fn unique_number(&mut self, anda: bool, year: u32) -> u32 {
        let (lo, hi) = match (anda, year) {
            (false, ..1982) => (1, 18_999),
            (false, 1982..2010) => (19_000, 22_999),
            (false, _) => (200_000, 219_999),
            (true, ..1982) => (80_000, 89_999),
            (true, 1982..2000) => (70_000, 75_999),
            (true, 2000..2010) => (76_000, 79_999),
            (true, 2010..2017) => (200_000, 209_999),
            (true, _) => (210_000, 219_999),
        };
        let mut tries = 0;
        loop {
            let n = self.rng.range(lo, hi);
            let set = if anda {
                &mut self.used_anda
            } else {
                &mut self.used_nda
            };
            if set.insert(n) {
                return n;
            }
            tries += 1;
            if tries > 24 {
                // Crowded range (very large files): numbers above every range are free.
                loop {
                    let n = self.next_overflow;
                    self.next_overflow += 1;
                    let set = if anda {
                        &mut self.used_anda
                    } else {
                        &mut self.used_nda
                    };
                    if set.insert(n) {
                        return n;
                    }
                }
            }
        }
    }

    fn molecule_name(&mut self) -> String {
        loop {
            let stem = format!(
                "{}{}{}",
                pick(&mut self.rng, STEM_A),
                pick(&mut self.rng, STEM_B),
                pick(&mut self.rng, STEM_C)
            );
            if !self.molecule_names.contains(&stem) {
                self.molecule_names.insert(stem.clone());
                return stem;
            }
        }
    }

    fn brand_name(&mut self) -> String {
        for attempt in 0u32.. {
            let mut name = String::new();
            let parts = if self.rng.chance(70) { 2 } else { 1 };
            for _ in 0..parts {
                name.push_str(pick(&mut self.rng, BRAND_A));
            }
            name.push_str(pick(&mut self.rng, BRAND_B));
            if attempt > 40 {
                name = format!("{name}-{attempt}");
            }
            if self.brand_names.insert(name.clone()) {
                return name;
            }
        }
        unreachable!("brand names never run out")
    }

    fn strengths_count(&mut self) -> usize {
        weighted(
            &mut self.rng,
            &[(1, 24), (2, 26), (3, 20), (4, 14), (5, 10), (6, 6)],
        )
    }

    /// One invented molecule with all its dosage forms.
    fn synthetic_molecule(&mut self) {
        let combo = self.singles.len() > 20 && self.rng.chance(12);
        // (name, salted, ladder) per ingredient, alphabetical.
        let mut parts: Vec<(String, bool, usize)> = Vec::new();
        if combo {
            let n = if self.rng.chance(85) { 2 } else { 3 };
            while parts.len() < n {
                let p = self.singles[self.rng.index(self.singles.len())].clone();
                if !parts.iter().any(|q| q.0 == p.0) {
                    parts.push(p);
                }
            }
            parts.sort_by(|a, b| a.0.cmp(&b.0));
            let key = parts
                .iter()
                .map(|p| p.0.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            if !self.molecule_names.insert(key) {
                return;
            }
        } else {
            let stem = if !self.singles.is_empty() && self.rng.chance(5) {
                // A second salt of an existing moiety (metoprolol tartrate / succinate).
                let base = self.singles[self.rng.index(self.singles.len())].0.clone();
                base.split(' ').next().unwrap_or("").to_string()
            } else {
                self.molecule_name()
            };
            let salt = if self.rng.chance(45) {
                None
            } else {
                Some(weighted(&mut self.rng, SALTS))
            };
            let name = match salt {
                Some(s) => format!("{stem} {s}"),
                None => stem,
            };
            if !self.molecule_names.insert(format!("#{name}")) {
                return;
            }
            let ladder = self.rng.index(SOLID_LADDERS.len());
            let eq = salt.is_some() && self.rng.chance(55);
            parts.push((name, eq, ladder));
            self.singles.push(parts[0].clone());
        }
        let ingredient = parts
            .iter()
            .map(|p| p.0.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        let generic_name = parts
            .iter()
            .map(|p| p.0.as_str())
            .collect::<Vec<_>>()
            .join(" AND ");
        let kind = if combo {
            0
        } else {
            weighted(
                &mut self.rng,
                &[(0u8, 62), (1, 18), (2, 9), (3, 4), (4, 3), (5, 4)],
            )
        };
        let (first, extra, n_forms): (Forms, Forms, usize) = match kind {
            0 => {
                let n = if combo {
                    weighted(&mut self.rng, &[(1, 70), (2, 30)])
                } else {
                    weighted(&mut self.rng, &[(1, 40), (2, 32), (3, 17), (4, 11)])
                };
                (&[(TABLET, 65), (CAPSULE, 35)], ORAL_EXTRA, n)
            }
            1 => (
                INJECTABLE_FORMS,
                INJECTABLE_FORMS,
                weighted(&mut self.rng, &[(1, 60), (2, 30), (3, 10)]),
            ),
            2 => (
                TOPICAL_FORMS,
                TOPICAL_FORMS,
                weighted(&mut self.rng, &[(1, 45), (2, 35), (3, 15), (4, 5)]),
            ),
            3 => (
                OPHTHALMIC_FORMS,
                OPHTHALMIC_FORMS,
                weighted(&mut self.rng, &[(1, 80), (2, 20)]),
            ),
            4 => (
                INHALATION_FORMS,
                INHALATION_FORMS,
                weighted(&mut self.rng, &[(1, 75), (2, 25)]),
            ),
            _ => (
                OTHER_FORMS,
                OTHER_FORMS,
                weighted(&mut self.rng, &[(1, 80), (2, 20)]),
            ),
        };
        let mut forms: Vec<FormSpec> = vec![weighted(&mut self.rng, first)];
        let mut guard = 0;
        while forms.len() < n_forms && guard < 50 {
            guard += 1;
            let candidate = weighted(&mut self.rng, extra);
            if !forms.iter().any(|f| f.df_route == candidate.df_route) {
                forms.push(candidate);
            }
        }
        let otc = matches!(kind, 0 | 2) && self.rng.chance(12);
        let year = self.rng.range(1955, 2025);
        let brand = self.brand_name();
        let brand_firm = self.brand_firm();
        for (i, form) in forms.iter().enumerate() {
            let form_year = if i == 0 {
                year
            } else {
                (year + self.rng.range(2, 18)).min(2025)
            };
            let s = self.strengths_count();
            let ladder_len = style_ladder(form.style, form.family, parts[0].2).len();
            let s = s.min(ladder_len);
            let start = self.rng.index(ladder_len - s + 1);
            let strengths: Vec<String> = (start..start + s)
                .map(|j| {
                    parts
                        .iter()
                        .map(|p| {
                            let ladder = style_ladder(form.style, form.family, p.2);
                            strength_amount(form.style, ladder[j.min(ladder.len() - 1)], p.1)
                        })
                        .collect::<Vec<_>>()
                        .join(";")
                })
                .collect();
            let trade_name = if i == 0 {
                brand.clone()
            } else if form.er {
                format!("{brand}{}", pick(&mut self.rng, ER_SUFFIX))
            } else if self.rng.chance(60) {
                brand.clone()
            } else {
                self.brand_name()
            };
            let generics = if otc {
                generic_count(&mut self.rng).min(12)
            } else {
                generic_count(&mut self.rng)
            };
            let family = match form.family {
                Family::Oral if !form.er && self.rng.chance(16) => "AA",
                Family::Oral | Family::Ab => "AB",
                Family::Solution => {
                    if self.rng.chance(70) {
                        "AA"
                    } else {
                        "AB"
                    }
                }
                Family::Injectable
                    if form.df_route.ends_with(";INTRAMUSCULAR") && self.rng.chance(30) =>
                {
                    "AO"
                }
                Family::Injectable => "AP",
                Family::Topical => {
                    if self.rng.chance(60) {
                        "AT"
                    } else {
                        "AB"
                    }
                }
                Family::Nebulized => "AN",
            };
            let scheme = if otc || generics < 2 || family == "AA" {
                Scheme::Single
            } else {
                match self.rng.below(1000) {
                    0..24 => Scheme::TwoRld,
                    24..42 => Scheme::MultiCode(self.rng.range(3, 4) as u8),
                    _ => Scheme::Single,
                }
            };
            let all_strengths: Vec<usize> = (0..strengths.len()).collect();
            let mut brands = vec![BrandPlan {
                trade_name,
                applicant: brand_firm,
                rld: true,
                strengths: all_strengths.clone(),
                codes: Vec::new(),
                year: form_year,
                appl_no: None,
            }];
            match scheme {
                Scheme::Single => {}
                Scheme::TwoRld => {
                    brands[0].codes = vec![1];
                    let k = self.rng.range(1, 2).min(strengths.len() as u32) as usize;
                    let from = self.rng.index(strengths.len() - k + 1);
                    let applicant = if self.rng.chance(50) {
                        brand_firm
                    } else {
                        self.brand_firm()
                    };
                    let trade_name = self.brand_name();
                    brands.push(BrandPlan {
                        trade_name,
                        applicant,
                        rld: true,
                        strengths: (from..from + k).collect(),
                        codes: vec![2],
                        year: (form_year + self.rng.range(1, 8)).min(2025),
                        appl_no: None,
                    });
                }
                Scheme::MultiCode(k) => {
                    let n_brands = self.rng.range(2, u32::from(k)) as u8;
                    brands[0].codes = self.code_set(k, 1);
                    for r in 2..=n_brands {
                        let trade_name = self.brand_name();
                        let applicant = self.brand_firm();
                        let codes = self.code_set(k, r);
                        brands.push(BrandPlan {
                            trade_name,
                            applicant,
                            rld: true,
                            strengths: all_strengths.clone(),
                            codes,
                            year: (form_year + self.rng.range(0, 6)).min(2025),
                            appl_no: None,
                        });
                    }
                    if self.rng.chance(50) {
                        // A 505(b)(2) NDA rated against several references (Levo-T).
                        let trade_name = self.brand_name();
                        let applicant = self.brand_firm();
                        let codes = (1..k).collect();
                        brands.push(BrandPlan {
                            trade_name,
                            applicant,
                            rld: false,
                            strengths: all_strengths.clone(),
                            codes,
                            year: (form_year + self.rng.range(0, 6)).min(2025),
                            appl_no: None,
                        });
                    }
                }
            }
            let special_note = matches!(scheme, Scheme::MultiCode(_)).then(|| {
                format!(
                    " **See current Annual Edition, 1.8 Description of Special Situations, {}",
                    title_case(&ingredient)
                )
            });
            let all_discn = self.rng.chance(12);
            let plan = Plan {
                ingredient: ingredient.clone(),
                generic_name: generic_name.clone(),
                form: *form,
                strengths,
                brands,
                generic_codes: Vec::new(),
                generics,
                scheme,
                family,
                otc,
                all_discn,
                brand_discn: 15,
                special_note,
            };
            self.emit(&plan);
        }
    }

    /// A random code set of `k` references that contains `own`.
    fn code_set(&mut self, k: u8, own: u8) -> Vec<u8> {
        let mut set = vec![own];
        for r in 1..=k {
            if r != own && self.rng.chance(45) {
                set.push(r);
            }
        }
        set.sort_unstable();
        set
    }

    /// A generic's code set in a multi-coded group: one reference, several, or all.
    fn generic_code_set(&mut self, k: u8) -> Vec<u8> {
        let roll = self.rng.below(100);
        if roll < 35 {
            vec![self.rng.range(1, u32::from(k)) as u8]
        } else if roll < 70 {
            let mut set: Vec<u8> = (1..=k).filter(|_| self.rng.chance(60)).collect();
            if set.len() < 2 {
                set = vec![1, 2];
            }
            set
        } else {
            (1..=k).collect()
        }
    }

    fn strength_cell(&mut self, plan: &Plan, idx: usize, status: Status, rld: bool) -> String {
        let mut s = plan.strengths[idx].clone();
        if status == Status::Discn && rld && self.rng.chance(40) {
            s.push_str(FR_NOTE);
        } else if let Some(note) = &plan.special_note
            && (status != Status::Discn || self.rng.chance(50))
        {
            s.push_str(note);
        } else if per_mille(&mut self.rng, 4) {
            s.push(' ');
        }
        s
    }

    fn emit(&mut self, plan: &Plan) {
        let first_row = self.rows.len();
        let rated = !plan.otc && (plan.generics > 0 || plan.brands.len() > 1);
        // Brands.
        let mut rs_candidates: Vec<(usize, usize)> = Vec::new(); // (row, strength) of RX RLD rows
        for brand in &plan.brands {
            let appl_no = match brand.appl_no {
                Some(n) if self.used_nda.insert(n) => n,
                _ => self.unique_number(false, brand.year),
            };
            let mut best: Option<(usize, usize)> = None;
            for (n, &idx) in brand.strengths.iter().enumerate() {
                let status = if plan.all_discn || self.rng.chance(plan.brand_discn) {
                    Status::Discn
                } else if plan.otc {
                    Status::Otc
                } else {
                    Status::Rx
                };
                let te = if status == Status::Rx && rated {
                    codes_text(plan.family, &brand.codes)
                } else {
                    String::new()
                };
                let year = if n == 0 {
                    brand.year
                } else {
                    (brand.year + self.rng.range(0, 5)).min(2026)
                };
                let approval = approval_text(&mut self.rng, year);
                let strength = self.strength_cell(plan, idx, status, brand.rld);
                self.rows.push(Row {
                    ingredient: plan.ingredient.clone(),
                    df_route: plan.form.df_route,
                    trade_name: brand.trade_name.clone(),
                    applicant: brand.applicant,
                    strength,
                    strength_rank: idx,
                    nda: true,
                    appl_no,
                    product_no: (n + 1) as u16,
                    te,
                    approval,
                    rld: brand.rld,
                    rs: false,
                    status,
                });
                if brand.rld && status != Status::Discn {
                    best = Some((self.rows.len() - 1, idx));
                }
            }
            if let Some(b) = best {
                rs_candidates.push(b);
            }
        }
        for (row, _) in &rs_candidates {
            self.rows[*row].rs = true;
        }
        // Generics: one ANDA per applicant (two for some applicants in two-RLD groups).
        let mut chosen: Vec<u32> = Vec::with_capacity(plan.generics);
        let brand_year = plan.brands.first().map_or(1990, |b| b.year);
        let mut generic_rows_start = None;
        for g in 0..plan.generics {
            let mut applicant = self.generic_firm();
            let mut guard = 0;
            while chosen.contains(&applicant) && guard < 64 {
                applicant = self.generic_firm();
                guard += 1;
            }
            chosen.push(applicant);
            // (allowed strengths, codes) per ANDA of this applicant.
            let mut andas: Vec<(Vec<usize>, Vec<u8>)> = Vec::with_capacity(2);
            let all: Vec<usize> = (0..plan.strengths.len()).collect();
            match plan.scheme {
                Scheme::Single => andas.push((all, Vec::new())),
                Scheme::TwoRld => {
                    let second = plan
                        .brands
                        .get(1)
                        .map(|b| b.strengths.clone())
                        .unwrap_or_default();
                    // Big groups: one ANDA per applicant, so no bucket passes 40.
                    let both = if plan.generics > 20 { 100 } else { 90 };
                    match self.rng.below(both) {
                        0..70 => andas.push((all, vec![1])),
                        70..90 => andas.push((second, vec![2])),
                        _ => {
                            andas.push((all, vec![1]));
                            andas.push((second, vec![2]));
                        }
                    }
                }
                Scheme::MultiCode(k) => {
                    let codes = match plan.generic_codes.get(g) {
                        Some(c) => c.clone(),
                        None => self.generic_code_set(k),
                    };
                    andas.push((all, codes));
                }
            }
            for (allowed, codes) in andas {
                if allowed.is_empty() {
                    continue;
                }
                let year = self.rng.range((brand_year + 3).min(2026), 2026);
                let appl_no = self.unique_number(true, year);
                let approval = approval_text(&mut self.rng, year);
                let app_discn = plan.all_discn || self.rng.chance(24);
                let app_b = self.rng.chance(2);
                let b = b_code(&mut self.rng, &plan.form);
                let mut covered: Vec<usize> = allowed
                    .iter()
                    .copied()
                    .filter(|_| self.rng.chance(85))
                    .collect();
                if covered.is_empty() {
                    covered.push(allowed[self.rng.index(allowed.len())]);
                }
                let trade_name = if self.rng.chance(3) && !plan.otc {
                    self.brand_name()
                } else {
                    plan.generic_name.clone()
                };
                for (n, idx) in covered.into_iter().enumerate() {
                    let status = if app_discn || self.rng.chance(8) {
                        Status::Discn
                    } else if plan.otc {
                        Status::Otc
                    } else {
                        Status::Rx
                    };
                    let te = if status != Status::Rx || !rated {
                        String::new()
                    } else if app_b {
                        b.to_string()
                    } else if per_mille(&mut self.rng, 5) {
                        // Not yet rated.
                        String::new()
                    } else {
                        codes_text(plan.family, &codes)
                    };
                    let strength = self.strength_cell(plan, idx, status, false);
                    generic_rows_start.get_or_insert(self.rows.len());
                    self.rows.push(Row {
                        ingredient: plan.ingredient.clone(),
                        df_route: plan.form.df_route,
                        trade_name: trade_name.clone(),
                        applicant,
                        strength,
                        strength_rank: idx,
                        nda: false,
                        appl_no,
                        product_no: (n + 1) as u16,
                        te,
                        approval: approval.clone(),
                        rld: false,
                        rs: false,
                        status,
                    });
                }
            }
        }
        // No marketed RLD: an ANDA of the top strength becomes the reference standard.
        if rs_candidates.is_empty()
            && let Some(start) = generic_rows_start
        {
            let top = self.rows[start..]
                .iter()
                .enumerate()
                .filter(|(_, r)| r.status == Status::Rx)
                .max_by_key(|(_, r)| r.strength_rank)
                .map(|(i, _)| start + i);
            if let Some(i) = top {
                self.rows[i].rs = true;
            }
        }
        debug_assert!(self.rows.len() >= first_row);
    }

    fn render(mut self) -> String {
        let firms = &self.firms;
        self.rows.sort_by(|a, b| {
            (
                a.df_route,
                &a.trade_name,
                &firms[a.applicant as usize].short,
                a.strength_rank,
                !a.nda,
                a.appl_no,
                a.product_no,
            )
                .cmp(&(
                    b.df_route,
                    &b.trade_name,
                    &firms[b.applicant as usize].short,
                    b.strength_rank,
                    !b.nda,
                    b.appl_no,
                    b.product_no,
                ))
        });
        let mut out = String::with_capacity(self.rows.len() * 150 + HEADER.len() + 1);
        out.push_str(HEADER);
        out.push('\n');
        for r in &self.rows {
            let firm = &firms[r.applicant as usize];
            let yes = |b: bool| if b { "Yes" } else { "No" };
            let status = match r.status {
                Status::Rx => "RX",
                Status::Otc => "OTC",
                Status::Discn => "DISCN",
            };
            for field in [
                r.ingredient.as_str(),
                r.df_route,
                &r.trade_name,
                &firm.short,
                &r.strength,
                if r.nda { "N" } else { "A" },
                &format!("{:06}", r.appl_no),
                &format!("{:03}", r.product_no),
                &r.te,
                &r.approval,
                yes(r.rld),
                yes(r.rs),
                status,
            ] {
                out.push_str(field);
                out.push('~');
            }
            out.push_str(&firm.full);
            out.push('\n');
        }
        out
    }
}

/// The real molecules the file starts with, so benchmarks can ask about familiar products.
fn seed_plans(g: &Gen) -> Vec<Plan> {
    let brand = |name: &str,
                 firm: &str,
                 appl_no: u32,
                 rld: bool,
                 strengths: Vec<usize>,
                 codes: Vec<u8>,
                 year: u32| BrandPlan {
        trade_name: name.to_string(),
        applicant: g.firm(firm),
        rld,
        strengths,
        codes,
        year,
        appl_no: Some(appl_no),
    };
    let mg = |vals: &[u32], eq: bool| {
        vals.iter()
            .map(|&v| strength_amount(Style::Solid, v, eq))
            .collect::<Vec<_>>()
    };
    let levo_note = Some(" **See current Annual Edition, 1.8 Description of Special Situations, Levothyroxine Sodium".to_string());
    let kcl_note = Some(
        " **See current Annual Edition, 1.8 Description of Special Situations, Potassium Chloride"
            .to_string(),
    );
    let base = |ingredient: &str,
                generic_name: &str,
                form: FormSpec,
                strengths: Vec<String>,
                brands: Vec<BrandPlan>| Plan {
        ingredient: ingredient.to_string(),
        generic_name: generic_name.to_string(),
        form,
        strengths,
        brands,
        generic_codes: Vec::new(),
        generics: 0,
        scheme: Scheme::Single,
        family: "AB",
        otc: false,
        all_discn: false,
        brand_discn: 0,
        special_note: None,
    };
    let levo_strengths = [25, 50, 75, 88, 100, 112, 125, 137, 150, 175, 200, 300];
    let all12: Vec<usize> = (0..12).collect();
    vec![
        Plan {
            generics: 34,
            ..base(
                "ATORVASTATIN CALCIUM",
                "ATORVASTATIN CALCIUM",
                TABLET,
                mg(&[10_000, 20_000, 40_000, 80_000], true),
                vec![brand(
                    "LIPITOR",
                    "UPJOHN",
                    20_702,
                    true,
                    vec![0, 1, 2, 3],
                    vec![],
                    1996,
                )],
            )
        },
        Plan {
            generics: 11,
            scheme: Scheme::MultiCode(4),
            special_note: levo_note,
            generic_codes: vec![
                vec![1, 2, 3, 4],
                vec![1, 2, 3],
                vec![2],
                vec![4],
                vec![1, 2, 3],
                vec![1],
                vec![3],
                vec![1, 2],
                vec![2],
                vec![1, 2, 3, 4],
                vec![4],
            ],
            ..base(
                "LEVOTHYROXINE SODIUM",
                "LEVOTHYROXINE SODIUM",
                TABLET,
                mg(&levo_strengths, false),
                vec![
                    brand(
                        "SYNTHROID",
                        "ABBVIE",
                        21_402,
                        true,
                        all12.clone(),
                        vec![1, 2],
                        2002,
                    ),
                    brand(
                        "UNITHROID",
                        "STEVENS J",
                        21_210,
                        true,
                        all12.clone(),
                        vec![1, 2, 3],
                        2000,
                    ),
                    brand(
                        "LEVOXYL",
                        "KING PHARMS",
                        21_301,
                        true,
                        all12.clone(),
                        vec![1, 3],
                        2001,
                    ),
                    brand(
                        "LEVO-T",
                        "CEDIPROF INC",
                        21_342,
                        false,
                        all12,
                        vec![1, 2, 3],
                        2002,
                    ),
                ],
            )
        },
        Plan {
            generics: 18,
            scheme: Scheme::TwoRld,
            ..base(
                "TADALAFIL",
                "TADALAFIL",
                TABLET,
                mg(&[2_500, 5_000, 10_000, 20_000], false),
                vec![
                    brand(
                        "CIALIS",
                        "LILLY",
                        21_368,
                        true,
                        vec![0, 1, 2, 3],
                        vec![1],
                        2003,
                    ),
                    brand(
                        "ADCIRCA",
                        "ELI LILLY CO",
                        22_332,
                        true,
                        vec![3],
                        vec![2],
                        2009,
                    ),
                ],
            )
        },
        Plan {
            generics: 9,
            ..base(
                "AMLODIPINE BESYLATE; ATORVASTATIN CALCIUM",
                "AMLODIPINE BESYLATE AND ATORVASTATIN CALCIUM",
                TABLET,
                [
                    "EQ 2.5MG BASE;EQ 10MG BASE",
                    "EQ 5MG BASE;EQ 10MG BASE",
                    "EQ 5MG BASE;EQ 20MG BASE",
                    "EQ 10MG BASE;EQ 80MG BASE",
                ]
                .iter()
                .map(|s| (*s).to_string())
                .collect(),
                vec![brand(
                    "CADUET",
                    "PHARMACIA",
                    21_540,
                    true,
                    vec![0, 1, 2, 3],
                    vec![],
                    2004,
                )],
            )
        },
        Plan {
            generics: 14,
            scheme: Scheme::MultiCode(3),
            special_note: kcl_note,
            ..base(
                "POTASSIUM CHLORIDE",
                "POTASSIUM CHLORIDE",
                TABLET_ER,
                vec![
                    "8MEQ".to_string(),
                    "10MEQ".to_string(),
                    "15MEQ".to_string(),
                    "20MEQ".to_string(),
                ],
                vec![
                    brand(
                        "K-TAB",
                        "ABBVIE",
                        18_279,
                        true,
                        vec![0, 1, 3],
                        vec![1],
                        1986,
                    ),
                    brand(
                        "KLOR-CON M20",
                        "VALIDUS",
                        19_123,
                        true,
                        vec![3],
                        vec![2],
                        1996,
                    ),
                    brand(
                        "KLOR-CON",
                        "UPJOHN",
                        20_161,
                        true,
                        vec![0, 1, 2],
                        vec![3],
                        1998,
                    ),
                ],
            )
        },
        Plan {
            generics: 6,
            family: "AA",
            ..base(
                "ERGOCALCIFEROL",
                "ERGOCALCIFEROL",
                CAPSULE,
                vec!["50,000 IU".to_string()],
                vec![brand(
                    "DRISDOL",
                    "VALIDUS PHARMS",
                    3_444,
                    true,
                    vec![0],
                    vec![],
                    1975,
                )],
            )
        },
        Plan {
            generics: 5,
            ..base(
                "ETHINYL ESTRADIOL; LEVONORGESTREL",
                "LEVONORGESTREL AND ETHINYL ESTRADIOL",
                f("TABLET;ORAL-28", Style::Solid, Family::Ab, false),
                vec![
                    "0.03MG,0.04MG,0.03MG;0.05MG,0.075MG,0.125MG".to_string(),
                    "0.02MG,0.01MG;0.1MG,N/A".to_string(),
                ],
                vec![brand(
                    "TRIPHASIL-28",
                    "WYETH PHARMS",
                    19_192,
                    true,
                    vec![0, 1],
                    vec![],
                    1984,
                )],
            )
        },
    ]
}

// ---------------------------------------------------------------------------------------
// The caller's market data, key sampling and summaries
// ---------------------------------------------------------------------------------------

/// FxHash (as in rustc): a fast, non-cryptographic hasher for small integer keys.
#[derive(Debug, Clone, Copy, Default)]
pub struct FxHasher {
    hash: u64,
}

const FX_K: u64 = 0xf135_7aea_2e62_a9c5;

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_K);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(buf));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn write_isize(&mut self, i: isize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.hash.rotate_left(26)
    }
}

/// A `HashMap` with [`FxHasher`].
pub type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// One product's store facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockRow {
    /// On hand at the store.
    pub in_stock: bool,
    /// Formulary tier (1 best), if on the plan's formulary.
    pub tier: Option<u8>,
    /// Unit acquisition cost in thousandths of a dollar, if known.
    pub cost_millis: Option<i64>,
}

/// The store's stock, formulary and cost data keyed by product: the [`Market`] the
/// benchmark's graph queries use (the SQLite peer loads the same rows into a table).
#[derive(Debug, Clone, Default)]
pub struct StockTable {
    rows: FxHashMap<ProductKey, StockRow>,
}

impl StockTable {
    /// Deterministic facts for every product: RX generics are mostly stocked and cheap,
    /// brands dearer and less often stocked; some products have no tier or cost.
    pub fn synthetic(products: &[ObProduct], seed: u64) -> Self {
        let mut rng = XorShift64::new(seed ^ 0x5702_6B00);
        let mut rows =
            FxHashMap::with_capacity_and_hasher(products.len(), BuildHasherDefault::default());
        for p in products {
            let brand = p.key.appl_type == pharm_subst::record::ApplType::Nda;
            let marketed = p.status != MarketingStatus::Discn;
            let in_stock = marketed && rng.chance(if brand { 35 } else { 60 });
            let tier = rng.chance(70).then(|| {
                if brand {
                    rng.range(2, 3) as u8
                } else {
                    rng.range(1, 2) as u8
                }
            });
            let cost_millis = rng.chance(90).then(|| {
                let base = if brand {
                    rng.range(2_000, 40_000)
                } else {
                    rng.range(10, 3_000)
                };
                i64::from(base)
            });
            rows.insert(
                p.key,
                StockRow {
                    in_stock,
                    tier,
                    cost_millis,
                },
            );
        }
        StockTable { rows }
    }

    /// The facts of one product.
    pub fn get(&self, key: &ProductKey) -> Option<&StockRow> {
        self.rows.get(key)
    }

    /// All rows.
    pub fn iter(&self) -> impl Iterator<Item = (&ProductKey, &StockRow)> {
        self.rows.iter()
    }

    /// Number of products with facts.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl Market for StockTable {
    fn facts(&self, key: &ProductKey) -> MarketFacts {
        self.rows
            .get(key)
            .map_or_else(MarketFacts::default, |r| MarketFacts {
                in_stock: r.in_stock,
                formulary_tier: r.tier,
                unit_cost: r.cost_millis.map(|m| Decimal::new(m, 3)),
            })
    }
}

/// A rotating set of prescription keys and what kinds of products it holds.
#[derive(Debug, Clone, Default)]
pub struct KeyMix {
    /// The keys, in query order.
    pub keys: Vec<ProductKey>,
    /// Keys with at least 14 equivalents (atorvastatin-size groups).
    pub big: usize,
    /// Keys of marketed RX products without any equivalent (single source, B-rated …).
    pub singleton: usize,
    /// Keys of products carrying several TE codes (levothyroxine style).
    pub multi_code: usize,
    /// Other marketed RX products.
    pub other: usize,
}

/// `n` product keys for the benchmark: about 35 % from big groups, 25 % single-source or
/// otherwise unsubstitutable RX products, 10 % multi-coded products, 30 % any RX product.
pub fn sample_keys(catalog: &Catalog, n: usize, seed: u64) -> KeyMix {
    let mut big = Vec::new();
    let mut single = Vec::new();
    let mut multi = Vec::new();
    let mut rx = Vec::new();
    for p in catalog.products() {
        if p.status != MarketingStatus::Rx {
            continue;
        }
        let degree = catalog.equivalents(&p.key).map_or(0, Iterator::count);
        rx.push(p.key);
        if p.te_codes.len() >= 2 && degree > 0 {
            multi.push(p.key);
        } else if degree >= 14 {
            big.push(p.key);
        } else if degree == 0 {
            single.push(p.key);
        }
    }
    let mut rng = XorShift64::new(seed ^ 0x4B45_5953);
    let mut mix = KeyMix::default();
    for _ in 0..n {
        let roll = rng.below(100);
        let (pool, counter) = match roll {
            0..35 if !big.is_empty() => (&big, &mut mix.big),
            35..60 if !single.is_empty() => (&single, &mut mix.singleton),
            60..70 if !multi.is_empty() => (&multi, &mut mix.multi_code),
            _ => (&rx, &mut mix.other),
        };
        if pool.is_empty() {
            break;
        }
        mix.keys.push(pool[rng.index(pool.len())]);
        *counter += 1;
    }
    mix
}

/// `n` keys drawn uniformly from all products (any status).
pub fn uniform_keys(catalog: &Catalog, n: usize, seed: u64) -> Vec<ProductKey> {
    let mut rng = XorShift64::new(seed ^ 0x554E_4946);
    let products = catalog.products();
    if products.is_empty() {
        return Vec::new();
    }
    (0..n)
        .map(|_| products[rng.index(products.len())].key)
        .collect()
}

/// Bins of a size histogram: `1`, `2`, `3–5`, `6–10`, `11–20`, `21–30`, `31–40`, `41+`.
pub const SIZE_BINS: [(usize, usize); 8] = [
    (1, 1),
    (2, 2),
    (3, 5),
    (6, 10),
    (11, 20),
    (21, 30),
    (31, 40),
    (41, usize::MAX),
];

fn bin_of(size: usize) -> usize {
    SIZE_BINS
        .iter()
        .position(|&(lo, hi)| size >= lo && size <= hi)
        .unwrap_or(0)
}

/// Shape of a loaded catalog: marketing-status mix, TE-code mix and group sizes.
#[derive(Debug, Clone, Default)]
pub struct CatalogSummary {
    /// Products.
    pub products: usize,
    /// Equivalence edges.
    pub edges: usize,
    /// Distinct ingredient lists.
    pub molecules: usize,
    /// Distinct (ingredients, dosage form, route).
    pub molecule_forms: usize,
    /// `RX` products.
    pub rx: usize,
    /// `OTC` products.
    pub otc: usize,
    /// `DISCN` products.
    pub discn: usize,
    /// Products with a B code.
    pub b_rated: usize,
    /// Products with more than one TE code.
    pub multi_coded: usize,
    /// Products with a numbered code (`AB1` …).
    pub numbered: usize,
    /// Products with the RLD flag.
    pub rld: usize,
    /// (ingredients, form) groups with a multi-coded product (levothyroxine style).
    pub multi_code_forms: usize,
    /// (ingredients, form) groups with numbered codes but no multi-coded product (Cialis /
    /// Adcirca style).
    pub numbered_forms: usize,
    /// ANDA products per (ingredients, form, strength) bucket: histogram over [`SIZE_BINS`]
    /// (buckets with at least one ANDA), and its median and maximum.
    pub anda_group_hist: [usize; 8],
    /// Median ANDA count of buckets with at least one ANDA.
    pub anda_group_median: usize,
    /// Largest ANDA count of a bucket.
    pub anda_group_max: usize,
    /// Buckets with no ANDA at all (brand only).
    pub brand_only_buckets: usize,
    /// Substitution-group size (the product plus its equivalents) of each marketed, A-rated
    /// RX product, over [`SIZE_BINS`].
    pub degree_hist: [usize; 8],
    /// Median substitution-group size of A-rated RX products.
    pub degree_median: usize,
    /// Largest substitution-group size.
    pub degree_max: usize,
}

impl CatalogSummary {
    /// Summarizes a catalog.
    pub fn of(catalog: &Catalog) -> Self {
        use pharm_subst::record::ApplType;
        let mut s = CatalogSummary {
            products: catalog.len(),
            edges: catalog.edge_count(),
            ..Self::default()
        };
        let mut molecules: HashSet<&[String]> = HashSet::new();
        let mut forms: HashMap<(&[String], &str, &str), (bool, bool)> = HashMap::new();
        let mut buckets: HashMap<(&[String], &str, &str, &str), usize> = HashMap::new();
        let mut degrees = Vec::new();
        for p in catalog.products() {
            molecules.insert(&p.ingredients);
            let form = forms
                .entry((&p.ingredients, &p.dosage_form, &p.route))
                .or_default();
            form.0 |= p.te_codes.len() > 1;
            form.1 |= p.te_codes.iter().any(|c| c.number().is_some());
            let anda = usize::from(p.key.appl_type == ApplType::Anda);
            *buckets
                .entry((
                    &p.ingredients,
                    &p.dosage_form,
                    &p.route,
                    &p.strength.normalized,
                ))
                .or_default() += anda;
            match p.status {
                MarketingStatus::Rx => s.rx += 1,
                MarketingStatus::Otc => s.otc += 1,
                MarketingStatus::Discn => s.discn += 1,
            }
            s.b_rated += usize::from(p.te_codes.iter().any(|c| c.is_b()));
            s.multi_coded += usize::from(p.te_codes.len() > 1);
            s.numbered += usize::from(p.te_codes.iter().any(|c| c.number().is_some()));
            s.rld += usize::from(p.rld);
            if pharm_subst::catalog::substitutable(p) {
                degrees.push(catalog.equivalents(&p.key).map_or(0, Iterator::count) + 1);
            }
        }
        s.molecules = molecules.len();
        s.molecule_forms = forms.len();
        s.multi_code_forms = forms.values().filter(|f| f.0).count();
        s.numbered_forms = forms.values().filter(|f| f.1 && !f.0).count();
        let mut sizes: Vec<usize> = buckets.values().copied().filter(|&n| n > 0).collect();
        s.brand_only_buckets = buckets.len() - sizes.len();
        sizes.sort_unstable();
        for &n in &sizes {
            s.anda_group_hist[bin_of(n)] += 1;
        }
        s.anda_group_median = sizes.get(sizes.len() / 2).copied().unwrap_or(0);
        s.anda_group_max = sizes.last().copied().unwrap_or(0);
        degrees.sort_unstable();
        for &n in &degrees {
            s.degree_hist[bin_of(n)] += 1;
        }
        s.degree_median = degrees.get(degrees.len() / 2).copied().unwrap_or(0);
        s.degree_max = degrees.last().copied().unwrap_or(0);
        s
    }
}

fn write_hist(f: &mut fmt::Formatter<'_>, hist: &[usize; 8]) -> fmt::Result {
    for (i, &(lo, hi)) in SIZE_BINS.iter().enumerate() {
        let label = match (lo, hi) {
            (lo, hi) if lo == hi => lo.to_string(),
            (lo, usize::MAX) => format!("{lo}+"),
            (lo, hi) => format!("{lo}-{hi}"),
        };
        write!(f, " {label}:{}", hist[i])?;
    }
    Ok(())
}

impl fmt::Display for CatalogSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = |n: usize| 100.0 * n as f64 / self.products.max(1) as f64;
        writeln!(
            f,
            "products {} ({} molecules, {} molecule-forms: {} multi-coded, {} with two numbered references), edges {}",
            self.products,
            self.molecules,
            self.molecule_forms,
            self.multi_code_forms,
            self.numbered_forms,
            self.edges
        )?;
        writeln!(
            f,
            "status: RX {:.1}%  DISCN {:.1}%  OTC {:.1}%;  B-rated {:.1}%  multi-coded {:.1}%  numbered {:.1}%  RLD {:.1}%",
            pct(self.rx),
            pct(self.discn),
            pct(self.otc),
            pct(self.b_rated),
            pct(self.multi_coded),
            pct(self.numbered),
            pct(self.rld)
        )?;
        write!(
            f,
            "ANDAs per (molecule, form, strength) [{} brand-only]:",
            self.brand_only_buckets
        )?;
        write_hist(f, &self.anda_group_hist)?;
        writeln!(
            f,
            "  (median {}, max {})",
            self.anda_group_median, self.anda_group_max
        )?;
        write!(f, "substitution group size of A-rated RX products:")?;
        write_hist(f, &self.degree_hist)?;
        write!(
            f,
            "  (median {}, max {})",
            self.degree_median, self.degree_max
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_exact_row_count() {
        let a = generate_products_txt(7, 3_000);
        let b = generate_products_txt(7, 3_000);
        assert_eq!(a, b);
        let mut lines = a.lines();
        assert_eq!(lines.next(), Some(HEADER));
        assert_eq!(lines.clone().count(), 3_000);
        assert!(lines.all(|l| l.split('~').count() == 14));
        assert!(a.ends_with('\n') && !a.contains('\r'));
        assert_ne!(a, generate_products_txt(8, 3_000));
    }

    #[test]
    fn small_files_start_with_the_real_molecules() {
        let text = generate_products_txt(1, 600);
        assert_eq!(text.lines().count(), 601);
        assert!(text.contains("~LIPITOR~UPJOHN~EQ 80MG BASE~N~"));
        assert!(text.contains("~SYNTHROID~ABBVIE~0.1MG"));
        assert!(text.contains(" **See current Annual Edition, 1.8 Description of Special Situations, Levothyroxine Sodium~"));
        assert!(text.contains("AB1,AB2~"));
        assert!(
            text.contains("~CIALIS~LILLY~20MG~N~")
                && text.contains("~ADCIRCA~ELI LILLY CO~20MG~N~")
        );
    }

    #[test]
    fn keys_are_unique_and_mix_is_realistic() {
        let text = generate_products_txt(DEFAULT_SEED, DEFAULT_ROWS);
        let mut keys = HashSet::new();
        let (mut discn, mut otc, mut b, mut multi, mut prior, mut footnote, mut trailing) =
            (0, 0, 0, 0, 0, 0, 0);
        for line in text.lines().skip(1) {
            let c: Vec<&str> = line.split('~').collect();
            assert_eq!(c.len(), 14, "{line}");
            assert!(keys.insert((c[5], c[6], c[7])), "duplicate key in {line}");
            assert!(c[6].len() == 6 && c[7].len() == 3);
            match c[12] {
                "DISCN" => {
                    discn += 1;
                    assert!(c[8].is_empty());
                }
                "OTC" => {
                    otc += 1;
                    assert!(c[8].is_empty());
                }
                "RX" => {}
                other => panic!("status {other}"),
            }
            b += usize::from(c[8].starts_with('B'));
            multi += usize::from(c[8].contains(','));
            prior += usize::from(c[9].starts_with("Approved Prior"));
            footnote += usize::from(c[4].contains(" **"));
            trailing += usize::from(c[4].ends_with(' '));
        }
        let n = DEFAULT_ROWS as f64;
        let share = |k: usize| k as f64 / n;
        assert!(
            (0.30..0.40).contains(&share(discn)),
            "DISCN {}",
            share(discn)
        );
        assert!((0.03..0.08).contains(&share(otc)), "OTC {}", share(otc));
        assert!((0.005..0.02).contains(&share(b)), "B {}", share(b));
        assert!(multi > 100 && prior > 1_000 && footnote > 500 && trailing > 20);
    }

    #[test]
    fn parses_strictly_with_zero_rejects_and_the_requested_row_count() {
        for rows in [1, 600, DEFAULT_ROWS] {
            let text = generate_products_txt(DEFAULT_SEED, rows);
            let parsed = parse_strict(&text).unwrap_or_else(|e| panic!("{rows} rows: {e}"));
            assert!(parsed.rejects.is_empty());
            assert_eq!(parsed.layout, pharm_subst::products::Layout::Current14);
            assert_eq!(parsed.products.len(), rows);
            let lenient =
                parse_products(text.as_bytes(), ParseMode::Lenient, &ParseLimits::default())
                    .unwrap_or_else(|e| panic!("{e}"));
            assert!(lenient.rejects.is_empty());
            assert!(Catalog::build(parsed.products).is_ok());
        }
    }

    #[test]
    fn full_file_has_the_expected_shape() {
        let catalog = load_catalog(&generate_products_txt(DEFAULT_SEED, DEFAULT_ROWS))
            .unwrap_or_else(|e| panic!("{e}"));
        let s = CatalogSummary::of(&catalog);
        assert!((2_000..3_000).contains(&s.molecules), "{s}");
        assert!(s.multi_code_forms >= 20 && s.numbered_forms >= 20, "{s}");
        assert!(
            s.anda_group_median >= 2 && s.anda_group_max >= 25 && s.anda_group_max <= 40,
            "{s}"
        );
        assert!(s.anda_group_hist[0] > s.anda_group_hist[5], "{s}");
        // Familiar products keep their real keys; footnotes and trailing spaces are stripped
        // before normalizing, so brand and generics meet in one group.
        let key = |s: &str| s.parse::<ProductKey>().unwrap_or_else(|e| panic!("{e}"));
        let lipitor_80 = key("N020702-004");
        assert_eq!(
            catalog.get(&lipitor_80).map(|p| p.status),
            Some(MarketingStatus::Rx)
        );
        assert!(catalog.equivalents(&lipitor_80).map_or(0, Iterator::count) >= 14);
        let synthroid = key("N021402-005");
        assert!(catalog.equivalents(&synthroid).map_or(0, Iterator::count) >= 3);
        let (cialis_20, adcirca) = (key("N021368-004"), key("N022332-001"));
        assert!(catalog.get(&cialis_20).is_some() && catalog.get(&adcirca).is_some());
        assert!(catalog.equivalence(&cialis_20, &adcirca).is_none());
    }

    #[test]
    fn sqlite_peer_agrees_with_the_graph() {
        let catalog =
            load_catalog(&generate_products_txt(3, 6_000)).unwrap_or_else(|e| panic!("{e}"));
        let stock = StockTable::synthetic(catalog.products(), 3);
        let mut peer =
            sqlite::SqlitePeer::load(catalog.products()).unwrap_or_else(|e| panic!("{e}"));
        peer.load_stock(&stock).unwrap_or_else(|e| panic!("{e}"));
        let mut keys = uniform_keys(&catalog, 200, 3);
        keys.extend(sample_keys(&catalog, 200, 3).keys);
        let a = sqlite::compare(&catalog, &peer, &stock, &keys).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.checked, 400);
        assert!(a.sets_agree(), "{:?}", a.set_mismatches);
        assert_eq!(a.same_order, a.checked, "{:?}", a.order_mismatches);
        assert!(a.with_equivalents > 100);
        let unknown = ProductKey {
            appl_type: pharm_subst::record::ApplType::Anda,
            appl_no: 999_999,
            product_no: 999,
        };
        assert!(
            peer.substitutes(&unknown)
                .unwrap_or_else(|e| panic!("{e}"))
                .is_empty()
        );
    }

    #[test]
    fn milli_formatting() {
        assert_eq!(milli(25), "0.025");
        assert_eq!(milli(2_500), "2.5");
        assert_eq!(milli(10_000), "10");
        assert_eq!(
            strength_amount(Style::Vial, 1_000_000, true),
            "EQ 1GM BASE/VIAL"
        );
        assert_eq!(codes_text("AB", &[2, 1]), "AB1,AB2");
    }
}
