//! The word and number tables the generator draws from: dosage forms and their strength
//! ladders, salts, name stems, brand and firm names.

/// How a form's strength is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
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
pub(super) enum Family {
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
pub(super) struct FormSpec {
    pub(super) df_route: &'static str,
    pub(super) style: Style,
    pub(super) family: Family,
    /// Extended release (`BC` when B-rated, a brand suffix).
    pub(super) er: bool,
}

/// A weighted list of dosage forms.
pub(super) type Forms = &'static [(FormSpec, u32)];

pub(super) const fn f(df_route: &'static str, style: Style, family: Family, er: bool) -> FormSpec {
    FormSpec {
        df_route,
        style,
        family,
        er,
    }
}

pub(super) const TABLET: FormSpec = f("TABLET;ORAL", Style::Solid, Family::Oral, false);
pub(super) const CAPSULE: FormSpec = f("CAPSULE;ORAL", Style::Solid, Family::Oral, false);
pub(super) const TABLET_ER: FormSpec = f(
    "TABLET, EXTENDED RELEASE;ORAL",
    Style::Solid,
    Family::Oral,
    true,
);

pub(super) const ORAL_EXTRA: &[(FormSpec, u32)] = &[
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

pub(super) const INJECTABLE_FORMS: &[(FormSpec, u32)] = &[
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

pub(super) const TOPICAL_FORMS: &[(FormSpec, u32)] = &[
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

pub(super) const OPHTHALMIC_FORMS: &[(FormSpec, u32)] = &[
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

pub(super) const INHALATION_FORMS: &[(FormSpec, u32)] = &[
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

pub(super) const OTHER_FORMS: &[(FormSpec, u32)] = &[
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
pub(super) const SOLID_LADDERS: &[&[u32]] = &[
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
pub(super) const PER_ML: &[u32] = &[1_000, 2_000, 4_000, 10_000, 20_000, 40_000, 50_000, 100_000];
pub(super) const VIAL: &[u32] = &[100_000, 250_000, 500_000, 1_000_000, 2_000_000, 10_000_000];
pub(super) const PERCENT: &[u32] = &[25, 50, 100, 250, 500, 1_000, 2_000, 2_500, 5_000];
pub(super) const NEBULIZER: &[u32] = &[21, 42, 83, 250, 500, 1_000];
pub(super) const INHALER: &[u32] = &[45, 90, 108, 160, 250, 500];
pub(super) const NASAL: &[u32] = &[25, 50, 100, 137, 200];
pub(super) const TRANSDERMAL: &[u32] = &[100, 200, 400, 600, 800, 1_000];

pub(super) const SALTS: &[(&str, u32)] = &[
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

pub(super) const STEM_A: &[&str] = &[
    "AB", "AC", "AL", "AM", "AN", "AR", "AZ", "BE", "BI", "BU", "CA", "CE", "CI", "CLO", "DA",
    "DE", "DI", "DO", "DU", "EF", "EN", "ER", "ES", "ET", "FA", "FE", "FI", "FLU", "FO", "GA",
    "GLI", "HA", "HY", "IB", "IM", "IN", "IR", "KE", "LA", "LE", "LI", "LO", "LU", "MA", "ME",
    "MI", "MO", "NA", "NE", "NI", "NO", "OL", "OX", "PA", "PE", "PI", "PRA", "PRO", "QUE", "RA",
    "RE", "RI", "RO", "SA", "SE", "SI", "SO", "SU", "TA", "TE", "TI", "TO", "TRA", "VA", "VE",
    "VI", "VO", "ZA", "ZI", "ZO",
];
pub(super) const STEM_B: &[&str] = &[
    "", "BA", "CA", "DO", "FE", "LA", "LO", "MI", "NI", "PA", "RE", "RO", "SI", "TA", "TI", "VA",
    "XA", "ZE",
];
pub(super) const STEM_C: &[&str] = &[
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
pub(super) const BRAND_A: &[&str] = &[
    "ZO", "LI", "PRA", "VEX", "TRI", "NOR", "CAL", "DEX", "FLO", "MAX", "QUE", "RA", "TOR", "VAN",
    "XA", "ZY", "BRI", "KEP", "LUM", "NEX", "OP", "PLA", "SYN", "TRU", "VY", "XEL", "AB", "EL",
    "IN", "ON",
];
pub(super) const BRAND_B: &[&str] = &[
    "IX", "OR", "ENA", "ARA", "ID", "ON", "EX", "AL", "YN", "OS", "ITOR", "IA", "ZA", "VO", "RA",
    "ENT",
];
pub(super) const ER_SUFFIX: &[&str] = &[" XR", " XL", " ER", " CR", " SR", " LA"];

/// Real generic firms: (short applicant, full name).
pub(super) const REAL_GENERICS: &[(&str, &str)] = &[
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
pub(super) const REAL_BRANDS: &[(&str, &str)] = &[
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

pub(super) const FIRM_A: &[&str] = &[
    "NOVA", "AXI", "BIO", "CURE", "DELTA", "EVER", "GEN", "HELIX", "ION", "JADE", "KAPPA", "LUMEN",
    "MERI", "NEXA", "ORBI", "PRIME", "QUANTA", "RIVA", "SOLA", "TERRA", "UNI", "VITA", "WELL",
    "XENO", "YARA", "ZEN",
];
pub(super) const FIRM_B: &[&str] = &[
    "GEN", "MED", "PHARM", "CARE", "LIFE", "CHEM", "VANCE", "TECH", "CORE", "RX", "LINK", "SCI",
];
pub(super) const FIRM_SUFFIX: &[(&str, &str)] = &[
    ("PHARMS", "PHARMACEUTICALS INC"),
    ("PHARMS INC", "PHARMACEUTICALS INC"),
    ("LABS", "LABORATORIES LTD"),
    ("LABS LTD", "LABORATORIES LTD"),
    ("HLTHCARE", "HEALTHCARE LLC"),
    ("PHARMA", "PHARMA PRIVATE LTD"),
    ("PHARMA LLC", "PHARMA LLC"),
    ("", "INC"),
];

pub(super) const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
